//! The open feed: free spaces as a DATEX II (version 3) parking status
//! publication, the European standard (CEN/TS 16157-6) that cities'
//! traffic portals and navigation services already read.
//!
//! Each vehicle class of a lot is a parking record of its own, with the id
//! `{lot}/{class}`: a motorbike space is no use to a car, so one figure
//! for the whole lot would mislead. Each record status carries the spaces
//! (`parkingNumberOfSpacesOverride`), the vacant and occupied ones, the
//! occupancy in percent, and `spacesAvailable`, `almostFull` (under 10%
//! free) or `full`.

use parking_core::timestamp::Timestamp;
use parking_core::xml::{element, escape};

use super::LotAvailability;

/// The publication for `lots`, made at `now`.
pub fn publication(lots: &[LotAvailability], now: Timestamp) -> String {
    let mut x = String::with_capacity(1024 + 700 * lots.len());
    x.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<d2:payload xmlns:d2=\"http://datex2.eu/schema/3/d2Payload\" ",
        "xmlns:com=\"http://datex2.eu/schema/3/common\" ",
        "xmlns:prk=\"http://datex2.eu/schema/3/parking\" ",
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ",
        "xsi:type=\"prk:ParkingStatusPublication\" lang=\"vi\" modelBaseVersion=\"3\">",
    ));
    element(&mut x, "com:publicationTime", &now.to_string());
    x.push_str("<com:publicationCreator>");
    element(&mut x, "com:country", "vn");
    element(&mut x, "com:nationalIdentifier", "parking-lot-server");
    x.push_str("</com:publicationCreator>");
    for lot in lots {
        for c in &lot.classes {
            let id = escape(&format!("{}/{}", lot.id, c.class));
            x.push_str("<prk:parkingRecordStatus xsi:type=\"prk:ParkingSiteStatus\">");
            x.push_str(&format!(
                "<prk:parkingRecordReference targetClass=\"prk:ParkingRecord\" id=\"{id}\" version=\"1\"/>"
            ));
            element(&mut x, "prk:parkingStatusOriginTime", &lot.updated_at.to_string());
            x.push_str("<prk:parkingOccupancy>");
            element(&mut x, "prk:parkingNumberOfSpacesOverride", &c.capacity.to_string());
            element(&mut x, "prk:parkingNumberOfVacantSpaces", &c.free.to_string());
            element(&mut x, "prk:parkingNumberOfOccupiedSpaces", &c.occupied.to_string());
            element(&mut x, "prk:parkingOccupancy", &percent(c.occupied, c.capacity));
            x.push_str("</prk:parkingOccupancy>");
            element(&mut x, "prk:parkingSiteStatus", status(c.free, c.capacity));
            x.push_str("</prk:parkingRecordStatus>");
        }
    }
    x.push_str("</d2:payload>\n");
    x
}

/// Occupied share in percent, one decimal.
fn percent(occupied: u32, capacity: u32) -> String {
    if capacity == 0 {
        return "100.0".into();
    }
    let tenths = u64::from(occupied) * 1000 / u64::from(capacity);
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn status(free: u32, capacity: u32) -> &'static str {
    if free == 0 {
        "full"
    } else if u64::from(free) * 10 < u64::from(capacity) {
        "almostFull"
    } else {
        "spacesAvailable"
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ClassFree, LotAvailability};

    #[test]
    fn each_class_is_a_record_with_its_figures() {
        let at = "2026-12-07T02:00:00Z".parse().unwrap();
        let lot = LotAvailability {
            id: "hn-01".into(),
            name: "Bãi <1>".into(),
            address: None,
            opening_hours: None,
            updated_at: at,
            classes: vec![
                ClassFree { class: "car".parse().unwrap(), capacity: 120, occupied: 83, free: 37 },
                ClassFree { class: "motorbike".parse().unwrap(), capacity: 800, occupied: 800, free: 0 },
                ClassFree { class: "bicycle".parse().unwrap(), capacity: 40, occupied: 37, free: 3 },
            ],
        };
        let xml = super::publication(&[lot], at);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let records: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("parkingRecordStatus")).collect();
        assert_eq!(records.len(), 3);
        let text = |n: roxmltree::Node<'_, '_>, name: &str| {
            // The innermost of that name (`parkingOccupancy` holds a `parkingOccupancy`).
            n.descendants().rfind(|d| d.has_tag_name(name)).and_then(|d| d.text()).unwrap().to_owned()
        };
        let car = records[0];
        assert_eq!(
            car.descendants().find(|d| d.has_tag_name("parkingRecordReference")).unwrap().attribute("id"),
            Some("hn-01/car")
        );
        assert_eq!(text(car, "parkingNumberOfVacantSpaces"), "37");
        assert_eq!(text(car, "parkingOccupancy"), "69.1");
        assert_eq!(text(car, "parkingSiteStatus"), "spacesAvailable");
        assert_eq!(text(records[1], "parkingSiteStatus"), "full");
        assert_eq!(text(records[2], "parkingSiteStatus"), "almostFull");
        assert_eq!(text(records[2], "parkingOccupancy"), "92.5");
    }
}

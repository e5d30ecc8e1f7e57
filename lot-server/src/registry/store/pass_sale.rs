//! Selling a monthly pass at the desk: priced from the tariff in force for
//! the vehicle's class and the months asked, paid from the customer's
//! account, the pass on the lists in the same transaction.

use crate::settlement::pass_sale::{PassSale, PassSaleError, sell_pass};

use super::*;

impl Registry {
    /// Sells a pass of `input.months` months starting `input.valid_from`
    /// (today by default), priced by `tariff`.
    pub async fn sell_pass(
        &self,
        input: PassSaleInput,
        tariff: &parking_core::tariff::Tariff,
        now: parking_core::Timestamp,
    ) -> Result<SoldPass, RegistryError> {
        if !(1..=12).contains(&input.months) {
            return Err(RegistryError::Invalid("months: 1 to 12".into()));
        }
        let vehicle = self.get_vehicle(&input.vehicle_id).await?;
        let price = tariff.pass_price(&vehicle.class, input.months).ok_or_else(|| {
            RegistryError::NoPassPrice(format!("tariff {} sells no pass for {}", tariff.version(), vehicle.class))
        })?;
        let valid_from = input.valid_from.unwrap_or_else(|| now.local_date());
        let valid_until = months_later(valid_from, input.months);
        let now_ms = now.unix_millis();
        let pass_id = new_id();
        let (mut tx, version) = self.begin().await?;
        sqlx::query(
            "INSERT INTO passes (pass_id, vehicle_id, valid_from, valid_until, price_vnd, state, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $6)",
        )
        .bind(pass_id.clone())
        .bind(vehicle.vehicle_id.clone())
        .bind(iso(valid_from))
        .bind(iso(valid_until))
        .bind(price.get())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "pass"))?;
        let mut fx = crate::settlement::Effects::with_version(version);
        let sale = PassSale {
            pass_id: &pass_id,
            account: &input.account_id,
            class: vehicle.class.as_str(),
            price: price.get(),
        };
        sell_pass(&mut tx, &self.policy, &sale, &mut fx, now_ms).await.map_err(|e| match e {
            PassSaleError::NoAccount(a) => RegistryError::not_found("account", &a),
            PassSaleError::Short { .. } => RegistryError::Short(e.to_string()),
            PassSaleError::Vat(m) => RegistryError::Invalid(m),
            PassSaleError::Db(e) => RegistryError::Db(e),
        })?;
        let balances = fx.finish(&mut tx, self.db.backend, now_ms).await?;
        let touched = Touched { passes: [pass_id.clone()].into(), ..Touched::default() };
        let passes = lists::refresh(&mut tx, self.db.backend, touched, version, now_ms).await?;
        self.commit(tx, balances || passes > 0, version).await?;
        tracing::info!(pass = %pass_id, account = %input.account_id, price = price.get(), "monthly pass sold");
        Ok(SoldPass {
            pass: self.get_pass(&pass_id).await?,
            price_vnd: price.get(),
            tariff_version: tariff.version().to_string(),
            balance_vnd: self.get_account(&input.account_id).await?.balance_vnd,
        })
    }
}

/// The last day of a pass of `months` months from `from`: the day before
/// the same day `months` later (the month's last day when it has no such
/// day, as from 31 January).
fn months_later(from: Date, months: u32) -> Date {
    let index = i64::from(from.year()) * 12 + i64::from(u8::from(from.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(from.year());
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1)).unwrap_or(from.month());
    let day = from.day().min(time::util::days_in_month(month, year));
    let end = Date::from_calendar_date(year, month, day).unwrap_or(from);
    end.previous_day().unwrap_or(end)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    #[test]
    fn a_pass_runs_to_the_day_before_the_same_day_months_later() {
        assert_eq!(super::months_later(date!(2026 - 12 - 06), 1), date!(2027 - 01 - 05));
        assert_eq!(super::months_later(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 27));
        assert_eq!(super::months_later(date!(2026 - 03 - 01), 12), date!(2027 - 02 - 28));
        assert_eq!(super::months_later(date!(2024 - 01 - 01), 2), date!(2024 - 02 - 29));
    }
}

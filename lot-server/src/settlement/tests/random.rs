//! A random mix of requests, payments, redeliveries, strays and account
//! exits keeps the books.

use super::*;

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn random_traffic_keeps_the_books(db: &Db) {
    let epc = "E20000000000000000000077";
    let account = account_tag(db, epc, 50_000).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut debited = 0i64;
    let mut sent: Vec<Incoming> = Vec::new();
    for step in 0..300u64 {
        match rng.below(6) {
            0 | 1 => {
                let code = PaymentCode::stay(u32::try_from(rng.below(40)).unwrap());
                let amount = 5_000 * i64::try_from(1 + rng.below(12)).unwrap();
                let cred = if rng.below(2) == 0 { tag(epc) } else { Credential::None };
                ingest(db, &[request(1_000 + step, code, amount, cred)]).await;
            }
            2 | 3 => {
                let code = PaymentCode::stay(u32::try_from(rng.below(40)).unwrap());
                let amount = 1_000 * i64::try_from(1 + rng.below(60)).unwrap();
                let t = transfer(&format!("r{step}"), amount, &format!("PARKING {code} THANKS"));
                book(db, &t).await;
                sent.push(t);
            }
            4 => {
                // A redelivery of something already sent, or a stray.
                if let Some(t) = sent.get(usize::try_from(rng.below(sent.len().max(1) as u64)).unwrap()) {
                    assert_eq!(book(db, t).await.0, Disposition::Duplicate);
                } else {
                    book(db, &transfer(&format!("s{step}"), 3_000, "no code here")).await;
                }
            }
            _ => {
                let amount = 1_000 * i64::try_from(1 + rng.below(30)).unwrap();
                let exit = event(
                    5_000 + step,
                    NOW + i64::try_from(step).unwrap(),
                    GateEventKind::Exit {
                        credential: tag(epc),
                        class: VehicleClass::Motorbike,
                        plate: None,
                        entered_at: None,
                        fee: Some(fee(amount, VehicleClass::Motorbike)),
                        settlement: Settlement::Account { account: account.clone() },
                    },
                );
                ingest(db, &[exit]).await;
                debited += amount;
            }
        }
    }
    let trial = assert_books(db).await;
    // Revenue plus VAT is exactly the fees of the stays settled and the
    // exits debited: the settled fees summed from the requests' own rows.
    let settled: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(fee_vnd), 0) AS BIGINT) FROM payment_requests WHERE state = 'paid'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(settled > 0 && debited > 0, "the mix settled stays ({settled}) and debited exits ({debited})");
    assert_eq!(trial.fees_settled_vnd, settled + debited);
    // Every đồng that came in is somewhere: settled fees, deposits of
    // stays still owed, accounts, suspense or refunds.
    let received: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(amount_vnd) AS BIGINT) FROM transfers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(trial.balances[BANK], received);
    let deposits: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(paid_vnd), 0) AS BIGINT) FROM payment_requests WHERE state = 'owed'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(-trial.balances.get(STAY_DEPOSITS).copied().unwrap_or(0), deposits);
}
on_both_databases!(random_traffic, random_traffic_keeps_the_books);

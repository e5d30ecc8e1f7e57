//! Rate limits per client address (`governor`'s GCRA): sign-in attempts
//! (guessing tokens), transfer notifications (a flood of forged or
//! replayed webhooks), the drivers' public routes, and the public lookups
//! that take a guessable key (a stay by plate or code, a receipt). Over the limit, the answer is 429 with
//! `Retry-After` and our JSON error, before the request is read.
//!
//! The address is the TCP peer's. Behind a reverse proxy every request
//! comes from the proxy: limit there, or raise these limits.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::AppState;

/// The limited groups of routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    Login,
    Webhooks,
    /// Every public route of the drivers' app.
    Public,
    /// Public routes a key opens: a stay, a receipt.
    Lookups,
}

impl Limited {
    fn as_str(self) -> &'static str {
        match self {
            Limited::Login => "login",
            Limited::Webhooks => "webhooks",
            Limited::Public => "public",
            Limited::Lookups => "lookups",
        }
    }
}

/// The server's limiters; `None` is no limit.
#[derive(Debug, Default)]
pub struct RateLimits {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    webhooks: Option<DefaultKeyedRateLimiter<IpAddr>>,
    public: Option<DefaultKeyedRateLimiter<IpAddr>>,
    lookups: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimits {
    /// `login_per_minute` sign-ins and `webhooks_per_second` notifications
    /// per address, each with a burst of that many; 0 for no limit.
    pub fn new(login_per_minute: u32, webhooks_per_second: u32) -> Self {
        RateLimits {
            login: NonZeroU32::new(login_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            webhooks: NonZeroU32::new(webhooks_per_second).map(|n| RateLimiter::keyed(Quota::per_second(n))),
            public: None,
            lookups: None,
        }
    }

    /// With `public_per_minute` requests to the drivers' public routes and
    /// `lookups_per_minute` of them that take a key, per address; 0 for no
    /// limit.
    pub fn with_public(mut self, public_per_minute: u32, lookups_per_minute: u32) -> Self {
        self.public = NonZeroU32::new(public_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        self.lookups = NonZeroU32::new(lookups_per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        self
    }

    fn of(&self, which: Limited) -> Option<&DefaultKeyedRateLimiter<IpAddr>> {
        match which {
            Limited::Login => self.login.as_ref(),
            Limited::Webhooks => self.webhooks.as_ref(),
            Limited::Public => self.public.as_ref(),
            Limited::Lookups => self.lookups.as_ref(),
        }
    }
}

/// Refuses a request over its group's limit.
pub(super) async fn limit(State((state, which)): State<(AppState, Limited)>, req: Request, next: Next) -> Response {
    let Some(limiter) = state.0.limits.of(which) else { return next.run(req).await };
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    // Addresses whose allowance is full again take no memory.
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
    match limiter.check_key(&ip) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            state.0.metrics.rate_limited.with_label_values(&[which.as_str()]).inc();
            tracing::warn!(%ip, limit = which.as_str(), "rate limited");
            let body = serde_json::json!({
                "error": "rate_limited",
                "message": format!("too many {} requests from this address; retry in {secs} s", which.as_str()),
            });
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], Json(body)).into_response()
        }
    }
}

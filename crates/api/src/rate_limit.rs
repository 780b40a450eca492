//! Rate limiting per client: a steady rate with a burst for everything under `/api/v1`, and a much
//! slower one for the staff password login (guessing passwords). Over the limit the answer is `429`
//! with `Retry-After`, before any work is done. `/status` is never limited (load balancers poll it).
//!
//! A client is its IP address (an IPv6 client by its /64, which one household or phone usually holds
//! whole). Behind a reverse proxy every request comes from the proxy, so the address is then taken
//! from `X-Forwarded-For`, but only when the connection comes from a proxy listed in
//! `rate_limit.trusted_proxies`: anyone else could write any address in that header.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::problem::{Kind, Lang, Problem};
use crate::settings::RateLimitSettings;

/// Forget clients that are back to a full allowance every this many requests, so the table of
/// clients does not grow without end.
const SWEEP_EVERY: u64 = 8_192;

/// The limiters, shared by every worker.
#[derive(Debug)]
pub struct Limits {
    general: DefaultKeyedRateLimiter<IpAddr>,
    login: DefaultKeyedRateLimiter<IpAddr>,
    trusted: Vec<IpAddr>,
    seen: AtomicU64,
    clock: DefaultClock,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    /// The limiters the settings describe (already checked: rates and bursts are at least 1,
    /// proxies are IP addresses), or `None` when rate limiting is off.
    pub fn new(s: &RateLimitSettings) -> Option<Arc<Self>> {
        if !s.enabled {
            return None;
        }
        let general = Quota::per_second(nonzero(s.per_second)).allow_burst(nonzero(s.burst));
        let login = Quota::per_minute(nonzero(s.login_per_minute)).allow_burst(nonzero(s.login_burst));
        Some(Arc::new(Self {
            general: RateLimiter::keyed(general),
            login: RateLimiter::keyed(login),
            trusted: s.trusted_proxy_addresses().unwrap_or_default(),
            seen: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }))
    }

    /// The client a request comes from.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted.contains(&peer) {
            return Some(key(peer));
        }
        // The right-most address that is not one of our proxies is the one the nearest trusted
        // proxy saw; what lies left of it was written by the client and proves nothing.
        let from_header = forwarded_for.and_then(|h| {
            h.rsplit(',')
                .map(|a| a.trim().parse::<IpAddr>())
                .find(|a| a.as_ref().map_or(true, |a| !self.trusted.contains(a)))
                .and_then(Result::ok)
        });
        Some(key(from_header.unwrap_or(peer)))
    }

    /// Seconds to wait, or `None` when the request may go ahead.
    pub fn check(&self, client: IpAddr, login: bool) -> Option<u64> {
        if self.seen.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.general.retain_recent();
            self.login.retain_recent();
        }
        let limiter = if login { &self.login } else { &self.general };
        let refused = limiter.check_key(&client).err()?;
        let wait = refused.wait_time_from(self.clock.now());
        // Round up: a client that waits exactly `Retry-After` seconds is let in.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(seconds.max(1))
    }
}

/// An IPv4 address as it is; an IPv6 address by its /64 (IPv4-mapped ones as IPv4).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// The middleware.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limits = req
        .app_data::<web::Data<Option<Arc<Limits>>>>()
        .and_then(|l| l.as_ref().as_ref().cloned());
    let Some(limits) = limits else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = req.path();
    if !path.starts_with("/api/") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let login = path == "/api/v1/auth/login" || path == "/api/v1/auth/dev-login";
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = limits.client(req.peer_addr().map(|a| a.ip()), forwarded);
    let wait = client.and_then(|c| limits.check(c, login));
    match wait {
        None => Ok(next.call(req).await?.map_into_left_body()),
        Some(seconds) => {
            tracing::info!(
                operation = "rate_limit",
                outcome = "refused",
                login,
                retry_after = seconds
            );
            let lang = Lang::of(req.request());
            let problem = Problem::new(
                Kind::TooManyRequests,
                lang,
                &format!("Troppe richieste da questo indirizzo: riprovare tra {seconds} secondi."),
                &format!("Too many requests from this address: retry in {seconds} seconds."),
            )
            .retry_after(u32::try_from(seconds).unwrap_or(u32::MAX));
            let response = problem.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn settings(trusted: &[&str]) -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            per_second: 1,
            burst: 3,
            login_per_minute: 1,
            login_burst: 2,
            trusted_proxies: trusted.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_not_affected() {
        let limits = Limits::new(&settings(&[])).unwrap();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limits.check(a, false), None);
        }
        assert_eq!(limits.check(a, false), Some(1), "one per second: retry in 1 s");
        assert_eq!(limits.check(ip("192.0.2.2"), false), None);
        // The login allowance is separate and slower: 2, then a minute's wait at most.
        assert_eq!(limits.check(a, true), None);
        assert_eq!(limits.check(a, true), None);
        let wait = limits.check(a, true).unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let limits = Limits::new(&settings(&["10.0.0.1", "10.0.0.2"])).unwrap();
        let xff = Some("203.0.113.9, 198.51.100.7, 10.0.0.2");
        // From a trusted proxy: the right-most address that is not a proxy.
        assert_eq!(limits.client(Some(ip("10.0.0.1")), xff), Some(ip("198.51.100.7")));
        // From anyone else the header is ignored.
        assert_eq!(
            limits.client(Some(ip("198.51.100.50")), xff),
            Some(ip("198.51.100.50"))
        );
        // A garbled header does not let a client choose its key: the proxy's address is used.
        assert_eq!(
            limits.client(Some(ip("10.0.0.1")), Some("x, not-an-ip")),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(limits.client(Some(ip("10.0.0.1")), None), Some(ip("10.0.0.1")));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let limits = Limits::new(&settings(&[])).unwrap();
        assert_eq!(
            limits.client(Some(ip("2001:db8:1:2:aaaa::1")), None),
            limits.client(Some(ip("2001:db8:1:2:bbbb::9")), None)
        );
        assert_ne!(
            limits.client(Some(ip("2001:db8:1:2::1")), None),
            limits.client(Some(ip("2001:db8:1:3::1")), None)
        );
        assert_eq!(
            limits.client(Some(ip("::ffff:192.0.2.1")), None),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn off_means_no_limiter() {
        let mut s = settings(&[]);
        s.enabled = false;
        assert!(Limits::new(&s).is_none());
    }
}

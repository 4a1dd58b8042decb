//! The typed values settings are parsed into, shared by every part of the configuration: secrets
//! that never print, cron schedules and ranges, each checked once when the setting is read.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A cron schedule with seconds (`sec min hour day month weekday`), checked when the setting is
/// read, so the job runtime never parses one again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub cron::Schedule);

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A setting that must never be printed (it may hold a password). `Debug` and `Display` show
/// only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself; call it only where the value is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

pub(crate) fn parse_cron(value: &str) -> Result<Schedule, String> {
    cron::Schedule::from_str(value.trim())
        .map(Schedule)
        .map_err(|error| {
            format!(
                "{value:?} is not a cron schedule with seconds (sec min hour day month weekday), \
                 such as \"0 */15 * * * *\": {error}"
            )
        })
}

pub(crate) fn parse_range(value: &str) -> Result<RangeInclusive<u32>, String> {
    let (low, high) = value
        .split_once('-')
        .ok_or_else(|| format!("{value:?} is not a range such as 40-120"))?;
    let low: u32 = low
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a range such as 40-120"))?;
    let high: u32 = high
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a range such as 40-120"))?;
    if low > high {
        return Err(format!(
            "{value:?}: the first number must not exceed the second"
        ));
    }
    Ok(low..=high)
}

/// An address or a CIDR range (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: std::net::IpAddr,
    prefix: u8,
}

impl Network {
    /// Tells whether `ip` is in the range.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses an address or a CIDR range.
pub(super) fn parse_network(value: &str) -> Result<Network, String> {
    let value = value.trim();
    let (address, prefix) = value
        .split_once('/')
        .map_or((value, None), |(a, p)| (a, Some(p)));
    let address: std::net::IpAddr = address.parse().map_err(|_| {
        format!("{value:?} is not an IP address or a CIDR range such as 10.0.0.0/8")
    })?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{value:?}: the prefix must be 0 to {max}"))?,
    };
    Ok(Network { address, prefix })
}

/// Where the clinic opens Nabd: its scheme and its host (with the port, when it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https` or `http`.
    pub scheme: String,
    /// The host as a `Host` header names it, lower-case (`dash.clinic.example`,
    /// `10.0.0.5:3000`).
    pub authority: String,
}

impl PublicUrl {
    /// Tells whether a request's `Host` header names this address.
    pub fn is_host(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let default_port = if self.scheme == "https" {
            ":443"
        } else {
            ":80"
        };
        host == self.authority || host.strip_suffix(default_port) == Some(self.authority.as_str())
    }

    /// Tells whether the browser reaches Nabd over HTTPS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The origin (`https://dash.clinic.example`).
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// Parses `NABD_PUBLIC_URL`: `http(s)://host[:port]`, perhaps with a trailing `/`.
pub(super) fn parse_public_url(value: &str) -> Result<PublicUrl, String> {
    let error = || {
        format!(
            "NABD_PUBLIC_URL must be the address the clinic opens, such as https://dash.clinic.example, not {value:?}"
        )
    };
    let (scheme, rest) = value.trim().split_once("://").ok_or_else(error)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(error());
    }
    let authority = rest.trim_end_matches('/').to_ascii_lowercase();
    let valid = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !valid {
        return Err(error());
    }
    Ok(PublicUrl { scheme, authority })
}

/// Parses `NABD_DASHBOARD_FRAME_ANCESTORS`: space-separated origins (`https://signage.example`)
/// or `'self'`, nothing that could end the header's directive.
pub(super) fn parse_frame_ancestors(value: &str) -> Result<String, String> {
    let sources: Vec<&str> = value.split_whitespace().collect();
    let valid = !sources.is_empty()
        && sources.iter().all(|source| {
            *source == "'self'"
                || ((source.starts_with("https://") || source.starts_with("http://"))
                    && source
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:/*".contains(c)))
        });
    if valid {
        Ok(sources.join(" "))
    } else {
        Err(format!(
            "NABD_DASHBOARD_FRAME_ANCESTORS takes origins such as https://signage.clinic.example \
             (space-separated) or 'self', not {value:?}"
        ))
    }
}

#[cfg(test)]
mod network_tests {
    use super::*;

    #[test]
    fn ranges_contain_their_addresses_in_either_family() {
        let lan = parse_network("10.0.0.0/8").expect("range");
        assert!(lan.contains("10.20.30.40".parse().expect("ip")));
        assert!(!lan.contains("11.0.0.1".parse().expect("ip")));
        assert!(lan.contains("::ffff:10.1.2.3".parse().expect("mapped ip")));
        let one = parse_network("127.0.0.1").expect("address");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        let v6 = parse_network("fd00::/8").expect("range");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.local").is_err());
        assert!(
            parse_network("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
    }
}

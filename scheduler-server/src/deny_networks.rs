//! `executors.deny_networks`: networks the scheduler never sends a request
//! to, whatever an executor registered (cloud metadata addresses, the
//! database's network, ...).
//!
//! The check happens when a request is made, on the addresses actually
//! connected to: a host name is resolved by [`DenyingResolver`], which drops
//! denied addresses (a name with none left fails to connect), and an IP
//! literal in the URL is checked by [`DenyNetworks::check_url`] before the
//! request (the HTTP client does not resolve literals). Checking at
//! registration would not hold: a name can resolve elsewhere later.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A list of denied networks; empty denies nothing.
#[derive(Clone, Debug, Default)]
pub struct DenyNetworks(Arc<Vec<IpNet>>);

impl DenyNetworks {
    /// Parses CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let nets = list
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not a network such as 10.0.0.0/8 or an address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(Arc::new(nets)))
    }

    /// Whether nothing is denied.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The denied network `ip` lies in, if any (IPv4-mapped IPv6 addresses
    /// count as their IPv4 address).
    pub fn denies(&self, ip: IpAddr) -> Option<IpNet> {
        let ip = ip.to_canonical();
        self.0.iter().find(|n| n.contains(&ip)).copied()
    }

    /// Refuses a URL whose host is a denied IP literal.
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return Ok(());
        };
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        match self.denies(ip) {
            Some(net) => Err(format!("executor address {ip} is in executors.deny_networks ({net})")),
            None => Ok(()),
        }
    }
}

/// Resolves host names for the executor client, leaving out denied addresses.
#[derive(Debug)]
pub struct DenyingResolver(pub DenyNetworks);

impl reqwest::dns::Resolve for DenyingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let deny = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| deny.denies(a.ip()).is_none()).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to addresses in executors.deny_networks").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let d = DenyNetworks::parse(&["169.254.0.0/16".into(), "10.1.2.3".into(), "fd00::/8".into()]).unwrap();
        assert!(d.denies("169.254.169.254".parse().unwrap()).is_some());
        assert!(d.denies("10.1.2.3".parse().unwrap()).is_some());
        assert!(d.denies("10.1.2.4".parse().unwrap()).is_none());
        assert!(d.denies("::ffff:169.254.1.1".parse().unwrap()).is_some(), "IPv4-mapped");
        assert!(d.denies("fd12::1".parse().unwrap()).is_some());
        assert!(d.check_url("http://169.254.169.254/latest").is_err());
        assert!(d.check_url("http://[fd00::5]:80").is_err());
        assert!(d.check_url("http://example.test").is_ok());
        assert!(DenyNetworks::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(DenyNetworks::parse(&["intranet".into()]).is_err());
        assert!(DenyNetworks::default().check_url("http://10.1.2.3").is_ok());
    }
}

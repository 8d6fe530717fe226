//! The client's address: the peer's, or, when the peer is a trusted proxy, the first address
//! of `X-Forwarded-For` counted from the right that is not itself a trusted proxy.

use std::net::IpAddr;

use http::HeaderMap;

pub fn client_ip(peer: IpAddr, trusted: &[IpAddr], headers: &HeaderMap) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn believes_only_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let forged = headers("203.0.113.9");
        assert_eq!(client_ip(peer, &[proxy], &forged), peer);
        let chain = headers("203.0.113.9, 198.51.100.4, 10.0.0.1");
        assert_eq!(
            client_ip(proxy, &[proxy], &chain),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &[proxy], &headers("garbage")), proxy);
    }
}

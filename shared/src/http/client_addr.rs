//! The caller's address: who a widget visitor is, beside the visitor id.
//!
//! The peer is API Gateway's source IP on Lambda (the request context),
//! else the socket's (`chatctl serve` serves with connect info). A client
//! can write any `X-Forwarded-For`, so it is read only when the peer is a
//! proxy the deployment trusts (`TRUSTED_PROXIES`): then the client is the
//! rightmost address in it that is not itself a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::AppState;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address; `None` when neither a socket nor a request
/// context gives one (a test calling the router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = lambda_source_ip(parts).or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        });
        let forwarded = parts
            .headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddr(client_of(
            peer,
            &forwarded,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client: the peer, unless it is a trusted proxy; then the rightmost
/// `X-Forwarded-For` entry that is not one (a proxy appends the address it
/// saw, so entries left of an untrusted one may be forged).
pub fn client_of(peer: Option<IpAddr>, forwarded: &str, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for entry in forwarded.rsplit(',') {
        let Some(ip) = parse_entry(entry) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, maybe with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(feature = "lambda")]
fn lambda_source_ip(parts: &Parts) -> Option<IpAddr> {
    use lambda_http::request::RequestContext;
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.as_deref()?.parse().ok(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(not(feature = "lambda"))]
fn lambda_source_ip(_: &Parts) -> Option<IpAddr> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())];
        // A direct client cannot claim another address.
        assert_eq!(client_of(ip("203.0.113.9"), "1.2.3.4", &trusted), ip("203.0.113.9"));
        // Behind the proxy: the rightmost untrusted entry.
        assert_eq!(
            client_of(ip("10.0.0.2"), "1.2.3.4, 198.51.100.3, 10.0.0.5", &trusted),
            ip("198.51.100.3")
        );
        assert_eq!(client_of(ip("10.0.0.2"), "", &trusted), ip("10.0.0.2"));
        assert_eq!(client_of(ip("10.0.0.2"), "garbage", &trusted), ip("10.0.0.2"));
        assert_eq!(client_of(ip("10.0.0.2"), "198.51.100.3:4431", &trusted), ip("198.51.100.3"));
        assert_eq!(client_of(ip("10.0.0.2"), "1.2.3.4", &[]), None.or(ip("10.0.0.2")));
        assert_eq!(client_of(None, "1.2.3.4", &trusted), None);
    }
}

//! Browser origins: the form browsers send them in, and the patterns tenants
//! list them by (an exact origin, a bare host, or `*.` subdomains).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};

/// A string that is not an origin or an origin pattern; the message names
/// it and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrigin {
    #[error("`{0}`: an origin starts with https:// or http://")]
    Scheme(String),
    #[error("`{0}`: expected scheme://host[:port], e.g. https://shop.example")]
    Shape(String),
    #[error(
        "`{0}`: expected https://host[:port], a host (shop.example) or subdomains (*.shop.example)"
    )]
    Pattern(String),
}

/// An origin as browsers send it: `scheme://host[:port]`, lowercased, no
/// path, the scheme's default port left out, a non-ASCII host in its ASCII
/// (IDNA) form. Anything else is refused, and hosts keep to letters,
/// digits, `.` and `-`, so an origin can be placed in a header as it is.
pub fn normalize_origin(raw: &str) -> Result<String, InvalidOrigin> {
    let trimmed = raw.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(InvalidOrigin::Scheme(raw.to_owned()));
    }
    let shape = || InvalidOrigin::Shape(raw.to_owned());
    let url = Url::parse(trimmed).map_err(|_| shape())?;
    let origin_only = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    // The parser admits a few characters in a domain (`;`, `*`, `'`) that
    // would change a CSP directive; an origin needs none of them.
    let host_ok = match url.host() {
        Some(Host::Domain(domain)) => {
            domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                && !domain.starts_with(['.', '-'])
        }
        Some(Host::Ipv4(_)) => true,
        Some(Host::Ipv6(_)) | None => false,
    };
    if origin_only && host_ok {
        Ok(url.origin().ascii_serialization())
    } else {
        Err(shape())
    }
}

/// Which hosts a pattern admits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This host only.
    Exact(String),
    /// Any host below this domain (`*.shop.example`: `a.shop.example`,
    /// `b.a.shop.example`), matched on a label boundary, never the domain
    /// itself; as a CSP `*.` host source matches.
    Subdomains(String),
}

/// An entry of a tenant's allowed origins. Written as
/// - `https://shop.example[:port]`: that origin exactly;
/// - `https://*.shop.example[:port]`: its subdomains, on that scheme;
/// - `shop.example` or `*.shop.example` (no scheme, as the Django system's
///   `whitelisted_domains` have them): over https or http, default port.
///
/// Its text form is also a valid CSP host source, so the frame's
/// `frame-ancestors` lists the same entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
}

impl OriginPattern {
    pub fn parse(raw: &str) -> Result<Self, InvalidOrigin> {
        let trimmed = raw.trim().trim_end_matches('/');
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, trimmed),
        };
        let (wildcard, host) = match rest.strip_prefix("*.") {
            Some(host) => (true, host),
            None => (false, rest),
        };
        // Validate the host (and port) as an origin of the given scheme.
        let probe = format!("{}://{host}", scheme.as_deref().unwrap_or("https"));
        let origin = normalize_origin(&probe).map_err(|e| match (&scheme, e) {
            (Some(_), InvalidOrigin::Scheme(_)) => InvalidOrigin::Scheme(raw.to_owned()),
            (Some(_), _) => InvalidOrigin::Shape(raw.to_owned()),
            (None, _) => InvalidOrigin::Pattern(raw.to_owned()),
        })?;
        let url = Url::parse(&origin).map_err(|_| InvalidOrigin::Shape(raw.to_owned()))?;
        let host_str = url.host_str().unwrap_or_default().to_owned();
        // A wildcard over an IP address, or over a top-level name alone
        // (`*.com`), admits far more than a tenant owns.
        if wildcard && (matches!(url.host(), Some(Host::Ipv4(_))) || !host_str.contains('.')) {
            return Err(InvalidOrigin::Pattern(raw.to_owned()));
        }
        if scheme.is_none() && url.port().is_some() {
            return Err(InvalidOrigin::Pattern(raw.to_owned()));
        }
        Ok(Self {
            scheme,
            host: if wildcard {
                HostPattern::Subdomains(host_str)
            } else {
                HostPattern::Exact(host_str)
            },
            port: url.port(),
        })
    }

    /// Whether a browser's origin (as [`normalize_origin`] writes it) is
    /// admitted.
    pub fn matches(&self, origin: &str) -> bool {
        let Ok(url) = Url::parse(origin) else {
            return false;
        };
        let scheme_ok = match &self.scheme {
            Some(s) => s == url.scheme(),
            None => matches!(url.scheme(), "https" | "http"),
        };
        let Some(host) = url.host_str() else {
            return false;
        };
        let host_ok = match &self.host {
            HostPattern::Exact(h) => h == host,
            HostPattern::Subdomains(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|label| label.len() > 1 && label.ends_with('.')),
        };
        scheme_ok && host_ok && url.port() == self.port
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        match &self.host {
            HostPattern::Exact(h) => f.write_str(h)?,
            HostPattern::Subdomains(d) => write!(f, "*.{d}")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl Serialize for OriginPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OriginPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn origins_are_normalized_or_refused() {
        assert_eq!(
            normalize_origin("https://Shop.Example/").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "https://",
            "https://a b",
            "https://x;script-src *",
            "https://x;y",
            "null",
            "https://x:99999999",
            "https://user@shop.example",
            "https://shop.example?q",
            "https://shop.example#f",
            "ftp://shop.example",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        // A browser's `Origin` never carries the scheme's default port.
        assert_eq!(
            normalize_origin("https://shop.example:443").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://shop.example:8443").as_deref(),
            Ok("http://shop.example:8443")
        );
        assert_eq!(
            normalize_origin("https://Bücher.example").as_deref(),
            Ok("https://xn--bcher-kva.example")
        );
    }

    #[test]
    fn refusals_say_what_an_origin_looks_like() {
        assert_eq!(
            normalize_origin("shop.example").map_err(|e| e.to_string()),
            Err("`shop.example`: an origin starts with https:// or http://".into())
        );
        assert_eq!(
            normalize_origin("https://shop.example/path").map_err(|e| e.to_string()),
            Err(
                "`https://shop.example/path`: expected scheme://host[:port], e.g. https://shop.example"
                    .into()
            )
        );
    }

    fn pattern(raw: &str) -> OriginPattern {
        OriginPattern::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn patterns_are_written_in_one_form() {
        for (raw, written) in [
            ("https://Shop.Example/", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("*.Kettle.test", "*.kettle.test"),
            ("https://*.kettle.test", "https://*.kettle.test"),
            ("shop.test", "shop.test"),
            ("*.bücher.example", "*.xn--bcher-kva.example"),
        ] {
            assert_eq!(pattern(raw).to_string(), written, "{raw}");
        }
        for bad in [
            "*.com",
            "*.127.0.0.1",
            "*",
            "https://*",
            "*.shop.example/path",
            "shop.example:8080",
            "ftp://shop.example",
            "https://a.*.example",
            "https://x;script-src *",
            "",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcards_match_on_a_domain_boundary() {
        let p = pattern("*.example.com");
        assert!(p.matches("https://a.example.com"));
        assert!(p.matches("http://b.a.example.com"));
        assert!(!p.matches("https://example.com"));
        assert!(!p.matches("https://evil-example.com"));
        assert!(!p.matches("https://aexample.com"));
        assert!(!p.matches("https://a.example.com.evil.test"));
        assert!(!p.matches("https://a.example.com:8443"));
        let https_only = pattern("https://*.example.com");
        assert!(https_only.matches("https://a.example.com"));
        assert!(!https_only.matches("http://a.example.com"));
    }

    #[test]
    fn exact_patterns_match_one_origin() {
        let p = pattern("https://shop.example");
        assert!(p.matches("https://shop.example"));
        assert!(!p.matches("http://shop.example"));
        assert!(!p.matches("https://shop.example:8443"));
        assert!(!p.matches("https://a.shop.example"));
        let bare = pattern("shop.test");
        assert!(bare.matches("https://shop.test"));
        assert!(bare.matches("http://shop.test"));
        assert!(!bare.matches("https://www.shop.test"));
        let port = pattern("http://127.0.0.1:8080");
        assert!(port.matches("http://127.0.0.1:8080"));
        assert!(!port.matches("http://127.0.0.1:8081"));
    }
}

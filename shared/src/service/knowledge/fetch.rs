//! Fetching a tenant's page or sitemap: bounded in pages, bytes and time,
//! same host only, and never to a loopback, private, link-local or other
//! internal address. The check is made on the addresses the connection
//! actually uses (a resolver that drops them), so a name that resolves
//! differently the second time cannot slip through. `KNOWLEDGE_ALLOW_PRIVATE_URLS`
//! (tests only) lifts the address check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::KnowledgeError;

/// Pages of a sitemap fetched at most (the first ones listed).
pub const MAX_SITEMAP_PAGES: usize = 50;
/// Bytes of one page or sitemap at most.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// One request, and a whole sitemap with its pages.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Under API Gateway's 29 s, so the tenant function answers in time.
pub const SITEMAP_DEADLINE: Duration = Duration::from_secs(25);
const MAX_REDIRECTS: usize = 3;

/// A fetched response.
pub struct Fetched {
    pub url: Url,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

pub struct Fetcher {
    client: reqwest::Client,
    allow_private: bool,
}

/// Drops every address the knowledge base may not reach.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("the host resolves to no public address".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Not loopback, private, link-local, shared, documentation, multicast or
/// unspecified (IPv4-mapped IPv6 judged as its IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064)
        }
    }
}

impl Fetcher {
    pub fn new(allow_private: bool) -> Self {
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let same_host = attempt
                .previous()
                .first()
                .is_some_and(|first| first.host_str() == attempt.url().host_str());
            if attempt.previous().len() > MAX_REDIRECTS || !same_host {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .redirect(policy)
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent("chat-knowledge-fetcher/1")
            .build()
            .unwrap_or_default();
        Self {
            client,
            allow_private,
        }
    }

    /// Checks a URL before fetching: http(s), a host, and (for IP literals,
    /// which skip the resolver) a public address.
    pub fn check(&self, raw: &str) -> Result<Url, KnowledgeError> {
        let bad = |why: &str| KnowledgeError::BadUrl(format!("{raw}: {why}"));
        let url = Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http and https URLs are fetched"));
        }
        let literal = match url.host() {
            None => return Err(bad("no host")),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = literal
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(bad("not a public address"));
        }
        Ok(url)
    }

    /// GETs `url`, reading at most `MAX_PAGE_BYTES` by `deadline`.
    pub async fn get(&self, url: &Url, deadline: Instant) -> Result<Fetched, KnowledgeError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(KnowledgeError::FetchFailed(format!("{url}: out of time")));
        }
        let failed = |e: String| KnowledgeError::FetchFailed(format!("{url}: {e}"));
        let response = self
            .client
            .get(url.clone())
            .timeout(left.min(REQUEST_TIMEOUT))
            .send()
            .await
            .map_err(|e| failed(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
        {
            return Err(KnowledgeError::TooLarge(format!(
                "{url}: more than {MAX_PAGE_BYTES} bytes"
            )));
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(error_chain(&e)))?;
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                return Err(KnowledgeError::TooLarge(format!(
                    "{url}: more than {MAX_PAGE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: final_url,
            content_type,
            bytes: body.freeze(),
        })
    }
}

/// The error and its causes on one line (reqwest's own message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Whether a response is a sitemap (`<urlset>` or `<sitemapindex>`).
pub fn is_sitemap(fetched: &Fetched) -> bool {
    let xml_type = fetched
        .content_type
        .as_deref()
        .is_some_and(|t| t.contains("xml"));
    let head = String::from_utf8_lossy(&fetched.bytes[..fetched.bytes.len().min(1024)]);
    (xml_type || fetched.url.path().ends_with(".xml")) && head.contains("<urlset")
}

/// The `<loc>` URLs of a sitemap on the sitemap's own host, in order,
/// deduplicated, at most `MAX_SITEMAP_PAGES`.
pub fn sitemap_pages(sitemap: &Fetched) -> Result<Vec<Url>, KnowledgeError> {
    let mut reader = quick_xml::Reader::from_reader(sitemap.bytes.as_ref());
    let mut pages: Vec<Url> = Vec::new();
    let mut in_loc = false;
    let mut buf = Vec::new();
    loop {
        use quick_xml::events::Event;
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| KnowledgeError::Malformed(format!("sitemap: {e}")))?;
        match event {
            Event::Start(e) => in_loc = e.local_name().as_ref() == b"loc",
            Event::End(_) => in_loc = false,
            Event::Text(t) if in_loc => {
                let text = t
                    .decode()
                    .map_err(|e| KnowledgeError::Malformed(format!("sitemap: {e}")))?;
                let page = sitemap.url.join(text.trim()).ok();
                if let Some(page) = page.filter(|p| {
                    p.host_str() == sitemap.url.host_str() && matches!(p.scheme(), "http" | "https")
                }) && !pages.contains(&page)
                {
                    pages.push(page);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if pages.len() >= MAX_SITEMAP_PAGES {
            break;
        }
        buf.clear();
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
        let fetcher = Fetcher::new(false);
        for url in [
            "http://127.0.0.1/x",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(fetcher.check(url).is_err(), "{url}");
        }
        assert!(fetcher.check("https://example.com/sitemap.xml").is_ok());
        assert!(Fetcher::new(true).check("http://127.0.0.1:8080/").is_ok());
    }

    #[test]
    fn sitemap_pages_stay_on_the_host() {
        let xml = r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc>https://shop.test/a</loc></url>
            <url><loc> /b </loc></url>
            <url><loc>https://evil.test/c</loc></url>
            <url><loc>https://shop.test/a</loc></url>
        </urlset>"#;
        let fetched = Fetched {
            url: Url::parse("https://shop.test/sitemap.xml").expect("url"),
            content_type: Some("application/xml".into()),
            bytes: Bytes::from(xml),
        };
        assert!(is_sitemap(&fetched));
        let pages = sitemap_pages(&fetched).expect("pages");
        let pages: Vec<_> = pages.iter().map(Url::as_str).collect();
        assert_eq!(pages, ["https://shop.test/a", "https://shop.test/b"]);
    }
}

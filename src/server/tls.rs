//! TLS settings as rustls serves them: one `ServerConfig` per `ssl` address group, built
//! from the routing table (which already holds every certificate, loaded and checked by
//! the compiler). The certificate is picked by SNI with the same name precedence as the
//! Host header; an unknown or absent name gets the address's default server's. Protocol
//! versions and session settings are the default server's (as in nginx, the handshake
//! starts before the name is known).
//!
//! Session resumption: tickets (`ssl_session_tickets on`) and a session cache, both
//! shared by every config of the process, so a reload does not forget them; either
//! way a session older than `ssl_session_timeout` is not resumed.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::server::{ClientHello, ProducesTickets, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, ServerConnection};

use crate::confc::table::{GroupId, RoutingTable};
use crate::confc::tls::provider;

/// The TLS config of each address group (`None` for plain ones), by group id.
pub type Configs = Vec<Option<Arc<ServerConfig>>>;

/// Builds the configs of a table's `ssl` groups.
pub fn configs(table: &Arc<RoutingTable>) -> Configs {
    (0..table.groups.len())
        .map(|g| table.groups[g].ssl.then(|| config(table, g)).flatten())
        .collect()
}

/// A new server-side TLS connection for a group's config.
pub fn accept(config: &Arc<ServerConfig>) -> Option<ServerConnection> {
    ServerConnection::new(config.clone()).ok()
}

fn config(table: &Arc<RoutingTable>, group: GroupId) -> Option<Arc<ServerConfig>> {
    let default = &table.servers[table.groups[group].default].settings;
    let p = default.ssl_protocols.value;
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if p.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if p.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let timeout = default.ssl_session_timeout.value.as_secs().max(1);
    let mut c = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .ok()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Sni {
            table: table.clone(),
            group,
        }));
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The provider's suite order (AES-128-GCM first), not the client's.
    c.ignore_client_order = true;
    // One TLS 1.3 ticket per handshake (rustls sends two): enough for the client's next
    // connection, and each costs an encryption on every new connection.
    c.send_tls13_tickets = 1;
    c.session_storage = Arc::new(Timed {
        inner: cache(),
        timeout,
    });
    if default.ssl_session_tickets.value
        && let Some(t) = ticketer()
    {
        c.ticketer = Arc::new(TimedTickets { inner: t, timeout });
    }
    Some(Arc::new(c))
}

/// Picks a server's certificate by SNI.
#[derive(Debug)]
struct Sni {
    table: Arc<RoutingTable>,
    group: GroupId,
}

impl ResolvesServerCert for Sni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let t = &self.table;
        let name = hello.server_name().map(str::to_ascii_lowercase);
        let (server, _) = t.select_server(self.group, name.as_deref());
        let default = t.groups[self.group].default;
        t.servers[server]
            .tls
            .as_ref()
            .or(t.servers[default].tls.as_ref())
            .map(|c| c.key.clone())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The process's session cache (server-side state for session ids and TLS 1.3
/// stateful tickets).
fn cache() -> Arc<dyn StoresServerSessions> {
    static CACHE: OnceLock<Arc<dyn StoresServerSessions>> = OnceLock::new();
    CACHE
        .get_or_init(|| rustls::server::ServerSessionMemoryCache::new(10_240))
        .clone()
}

/// The process's ticket keys (rotated by rustls every 6 hours).
fn ticketer() -> Option<Arc<dyn ProducesTickets>> {
    static T: OnceLock<Option<Arc<dyn ProducesTickets>>> = OnceLock::new();
    T.get_or_init(|| rustls::crypto::aws_lc_rs::Ticketer::new().ok())
        .clone()
}

/// A session cache whose entries expire after `timeout` seconds: each value is stored
/// behind the time it was stored.
#[derive(Debug)]
struct Timed {
    inner: Arc<dyn StoresServerSessions>,
    timeout: u64,
}

fn stamp(value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + value.len());
    v.extend_from_slice(&now_secs().to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// The value behind a stamp, if it is younger than `timeout`.
fn fresh(stamped: Vec<u8>, timeout: u64) -> Option<Vec<u8>> {
    let at = u64::from_be_bytes(stamped.get(..8)?.try_into().ok()?);
    (now_secs() < at.saturating_add(timeout)).then(|| stamped[8..].to_vec())
}

impl StoresServerSessions for Timed {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, stamp(&value))
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        fresh(self.inner.get(key)?, self.timeout)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        fresh(self.inner.take(key)?, self.timeout)
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// Tickets that carry the time they were issued, refused after `timeout` seconds.
#[derive(Debug)]
struct TimedTickets {
    inner: Arc<dyn ProducesTickets>,
    timeout: u64,
}

impl ProducesTickets for TimedTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn lifetime(&self) -> u32 {
        u32::try_from(self.timeout)
            .unwrap_or(u32::MAX)
            .min(self.inner.lifetime())
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(&stamp(plain))
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        fresh(self.inner.decrypt(cipher)?, self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_values_expire() {
        let v = stamp(b"session");
        assert_eq!(fresh(v.clone(), 60).as_deref(), Some(&b"session"[..]));
        let mut old = v;
        old[..8].copy_from_slice(&(now_secs() - 61).to_be_bytes());
        assert_eq!(fresh(old, 60), None);
        assert_eq!(fresh(vec![1, 2], 60), None, "too short to hold a stamp");
    }
}

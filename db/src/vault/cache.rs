//! A small, bounded, short-lived cache of unwrapped data keys. With a local key ring an unwrap
//! costs a microsecond; with a KMS it is a network round trip, which this cache saves. Keys
//! leave memory when they expire, when the cache is full (expired first, then everything), when
//! their case is shredded, and when the vault is dropped; `KeyMaterial` wipes itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use std::time::Duration;

use super::provider::KeyVersion;
use super::secret::KeyMaterial;
use crate::ids::CaseId;

/// How long an unwrapped data key may stay in memory, and how many at most.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// Time to live of one entry.
    pub ttl: Duration,
    /// Most entries held.
    pub capacity: usize,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            capacity: 10_000,
        }
    }
}

type Entries = HashMap<(CaseId, KeyVersion), (Instant, Arc<KeyMaterial>)>;

#[derive(Debug)]
pub struct KeyCache {
    policy: CachePolicy,
    entries: Mutex<Entries>,
}

impl KeyCache {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, case: &CaseId, kek: KeyVersion) -> Option<Arc<KeyMaterial>> {
        let mut entries = self.entries.lock().ok()?;
        let key = (case.clone(), kek);
        match entries.get(&key) {
            Some((at, material)) if at.elapsed() < self.policy.ttl => Some(Arc::clone(material)),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, case: &CaseId, kek: KeyVersion, material: Arc<KeyMaterial>) {
        if self.policy.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.policy.capacity {
            let ttl = self.policy.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.policy.capacity {
                entries.clear();
            }
        }
        entries.insert((case.clone(), kek), (Instant::now(), material));
    }

    pub fn forget(&self, case: &CaseId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(cached, _), _| cached != case);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_are_bounded_and_forgotten() {
        let cache = KeyCache::new(CachePolicy {
            ttl: Duration::from_millis(50),
            capacity: 2,
        });
        let v1 = KeyVersion::FIRST;
        let (a, b, c) = (CaseId::generate(), CaseId::generate(), CaseId::generate());
        cache.put(&a, v1, Arc::new(KeyMaterial::generate()));
        cache.put(&b, v1, Arc::new(KeyMaterial::generate()));
        assert!(cache.get(&a, v1).is_some());
        cache.put(&c, v1, Arc::new(KeyMaterial::generate()));
        assert!(cache.entries.lock().unwrap().len() <= 2);
        cache.forget(&c);
        assert!(cache.get(&c, v1).is_none());
        cache.put(&a, v1, Arc::new(KeyMaterial::generate()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&a, v1).is_none(), "expired");
    }
}

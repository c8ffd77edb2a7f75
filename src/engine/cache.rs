//! Rendered catalog answers. The five catalog actions answer from data that
//! only a reset or a snapshot restore can change, so each answer is rendered
//! once (the whole JSON envelope, PHP-escaped) and served as the same shared
//! buffer until the engine bumps the generation. Only successful JSON
//! answers are kept; a fault rule still fires before the cache is looked at.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::actions::ActionName;
use crate::engine::Call;
use crate::journal::RawJson;

/// Most distinct answers kept (getsystems pages are keyed by their raw params).
const MAX_ENTRIES: usize = 64;

#[derive(Debug, Default)]
pub struct RenderCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    answers: HashMap<String, RawJson>,
}

impl RenderCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cache key of a call whose answer depends on the catalog alone.
    pub fn key(call: &Call) -> Option<String> {
        match call.action {
            name if !name.cacheable() => None,
            ActionName::GetSystems => Some(format!(
                "getsystems|{}|{}",
                call.params.str("page_mode").unwrap_or_default(),
                call.params.str("page_length").unwrap_or_default()
            )),
            name => Some(name.wire().to_string()),
        }
    }

    /// The rendered answer for `key`, or the generation a new one must be stored under.
    pub fn get(&self, key: &str) -> Result<RawJson, u64> {
        let inner = self.lock();
        inner.answers.get(key).cloned().ok_or(inner.generation)
    }

    /// Keeps an answer rendered from data read under `generation` (dropped
    /// if the engine was reset or restored since).
    pub fn insert(&self, key: String, generation: u64, answer: RawJson) {
        let mut inner = self.lock();
        if inner.generation == generation && inner.answers.len() < MAX_ENTRIES {
            inner.answers.insert(key, answer);
        }
    }

    /// Forgets every answer (reset, snapshot restore).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.answers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_from_before_a_clear_are_not_kept() {
        let cache = RenderCache::default();
        let generation = cache.get("getzones").err().unwrap_or(u64::MAX);
        cache.clear(); // a reset lands while the answer is being rendered
        cache.insert("getzones".into(), generation, json!({"stale": true}).into());
        assert!(cache.get("getzones").is_err());
        let generation = cache.get("getzones").err().unwrap_or(u64::MAX);
        cache.insert("getzones".into(), generation, json!({"code": 0}).into());
        assert_eq!(
            cache.get("getzones").map(|a| a.value()).ok(),
            Some(json!({"code": 0}))
        );
    }
}

//! Each call's regulation, compiled once and shared: a call's rules are frozen once it opens, so the
//! rules hash identifies the compiled form for good.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graduatorie_rules::model::Regulation;
use graduatorie_store::StoreError;
use graduatorie_store::calls::Call;

use crate::blocking;
use crate::problem::{Lang, Problem};

/// Compiled regulations by rules hash.
#[derive(Debug, Default)]
pub struct RulesCache {
    compiled: Mutex<HashMap<String, Arc<Regulation>>>,
}

impl RulesCache {
    /// The call's regulation, compiled on first use.
    pub fn of(&self, call: &Call) -> Result<Arc<Regulation>, String> {
        if let Some(r) = self.lock().get(&call.rules_hash) {
            return Ok(r.clone());
        }
        let compiled = graduatorie_rules::compile_str(&format!("call-{}.toml", call.id), &call.rules_toml)
            .map_err(|e| e.lines().join("; "))?;
        let compiled = Arc::new(compiled);
        self.lock().insert(call.rules_hash.clone(), compiled.clone());
        Ok(compiled)
    }

    /// [`RulesCache::of`] for a handler: rules that do not compile (they were checked when the call
    /// was created, so this is a fault of ours) are logged and answered as an internal error.
    pub fn for_call(&self, call: &Call, lang: Lang) -> Result<Arc<Regulation>, Problem> {
        self.of(call).map_err(|e| {
            tracing::error!(operation = "rules.compile", outcome = "failed", call = %call.id, error = %e);
            blocking::store_problem(lang, StoreError::Config("rules".into()))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Regulation>>> {
        // A panic while holding the lock leaves a map that is still consistent (insert is atomic).
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

//! Each call's regulation, compiled once and shared: a call's rules are frozen once it opens, so the
//! rules hash identifies the compiled form for good.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graduatorie_rules::model::Regulation;
use graduatorie_store::calls::Call;

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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Regulation>>> {
        // A panic while holding the lock leaves a map that is still consistent (insert is atomic).
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

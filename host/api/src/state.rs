//! `AppState`: what every handler receives. Cheap to clone (the core is reference-counted inside).

use std::sync::Arc;

use tessera_core::Tessera;

use crate::audit::Auditing;

#[derive(Clone)]
pub struct AppState {
    /// The authentication server's logic; handlers call it and map its `PiError`s.
    pub core: Tessera,
    /// The audit log and response signer; `None` when auditing is off.
    pub audit: Option<Arc<Auditing>>,
}

impl AppState {
    pub fn new(core: Tessera) -> Self {
        AppState { core, audit: None }
    }

    /// With an audit log (one entry per request) and, if it has a signer, signed answers.
    pub fn with_audit(mut self, auditing: Auditing) -> Self {
        self.audit = Some(Arc::new(auditing));
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// A real core over a temporary store, a plugin runtime without plugins, and a clock the test sets.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use tessera_core::{CoreConfig, FixedClock, PinHashParams, Tessera};
    use tessera_runtime::{Runtime, RuntimeConfig};
    use tessera_store::{Sealer, SledStore};

    use super::AppState;

    /// 2026-12-03, when the captured privacyIDEA answers were made.
    pub(crate) const T0: f64 = 1_796_315_908.5;

    pub(crate) struct TestApp {
        pub(crate) state: AppState,
        pub(crate) clock: Arc<FixedClock>,
        _dir: tempfile::TempDir,
    }

    /// A core with administrator `admin` / `adminpass`.
    pub(crate) async fn app() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("db")).unwrap();
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let clock = Arc::new(FixedClock::new(T0));
        let cfg = CoreConfig {
            pin_hash: PinHashParams {
                t_cost: 1,
                m_cost_kib: 1024,
                p_cost: 1,
            },
            ..Default::default()
        };
        let core = Tessera::new(
            Arc::new(store),
            Arc::new(runtime),
            Sealer::from_key(&[7; 32]),
            clock.clone(),
            cfg,
        )
        .unwrap();
        core.add_admin("admin", "adminpass").await.unwrap();
        TestApp {
            state: AppState::new(core),
            clock,
            _dir: dir,
        }
    }
}

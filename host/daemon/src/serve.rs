//! `tessera serve` and the start-up shared with the admin commands: lock the data directory, load the key,
//! open the store, load plugins, build the core.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tessera_core::{SystemClock, Tessera};
use tessera_runtime::Runtime;
use tessera_store::SledStore;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::datadir::{self, DirLock};

/// How long in-flight requests may take to finish after SIGTERM/SIGINT.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// A core over the data directory, and the lock that keeps other tessera processes out while it lives.
pub struct Opened {
    pub core: Tessera,
    _lock: DirLock,
}

/// Opens the data directory. `plugins`: load the bundled plugins and `plugin_dir` (serve); the admin
/// commands need none.
pub fn open(cfg: &Config, plugins: bool) -> anyhow::Result<Opened> {
    let lock = datadir::lock(&cfg.data_dir)?;
    let sealer = datadir::open_or_create_key(&cfg.enckey_path())?;
    let db = cfg.db_dir();
    let store = SledStore::open(&db)
        .with_context(|| format!("cannot open the store in {}", db.display()))?;
    let mut runtime = Runtime::new(cfg.runtime()).context("cannot start the plugin runtime")?;
    if plugins {
        load_plugins(&mut runtime, cfg)?;
    }
    let core = Tessera::new(
        Arc::new(store),
        Arc::new(runtime),
        sealer,
        Arc::new(SystemClock),
        cfg.core(),
    )
    .context("cannot start the core")?;
    Ok(Opened { core, _lock: lock })
}

fn load_plugins(runtime: &mut Runtime, cfg: &Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    for plugin in tessera_bundled::bundled() {
        let name = runtime
            .load(plugin.manifest, plugin.wasm)
            .with_context(|| format!("cannot load the bundled plugin {}", plugin.name))?;
        tracing::debug!(plugin = %name, "loaded bundled plugin");
    }
    if let Some(dir) = &cfg.plugin_dir {
        let names = runtime
            .load_dir(dir)
            .with_context(|| format!("cannot load the plugins in {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), plugins = ?names, "loaded extra plugins");
    }
    let types: Vec<String> = runtime
        .token_types()
        .into_iter()
        .map(|t| t.type_name)
        .collect();
    let resolvers: Vec<String> = runtime
        .resolver_types()
        .into_iter()
        .map(|r| r.type_name)
        .collect();
    tracing::info!(token_types = ?types, resolver_types = ?resolvers, millis = started.elapsed().as_millis() as u64, "plugins loaded");
    Ok(())
}

/// Serves the API until SIGTERM or SIGINT, then lets in-flight requests finish (at most `DRAIN_TIME`).
pub fn serve(cfg: &Config) -> anyhow::Result<()> {
    let opened = open(cfg, true)?;
    match opened.core.list_admins() {
        Ok(admins) if admins.is_empty() => crate::admin::first_admin(&opened.core, cfg)?,
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot list the administrators"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let auditing = crate::audit_cmd::open(cfg)?;
    rt.block_on(run(cfg, opened.core.clone(), auditing))?;
    // Dropping the runtime waits for blocking tasks (PIN hashing) before the store closes with `opened`.
    drop(rt);
    drop(opened);
    tracing::info!("stopped");
    Ok(())
}

async fn run(
    cfg: &Config,
    core: Tessera,
    auditing: Option<tessera_api::audit::Auditing>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let mut state = tessera_api::AppState::new(core);
    if let Some(a) = auditing {
        state = state.with_audit(a);
    }
    let app = tessera_api::router(state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    tracing::info!(%addr, data_dir = %cfg.data_dir.display(), "tessera listening");
    // The one line scripts and tests wait for (stdout, not the log).
    println!("tessera listening on http://{addr}");
    let mut stopping = stop_rx;
    let deadline = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN_TIME).await;
    };
    tokio::select! {
        result = server.into_future() => result.context("the HTTP server failed")?,
        () = deadline => tracing::warn!("requests still running {DRAIN_TIME:?} after the stop signal; stopping anyway"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: stopping"),
        () = term => tracing::info!("SIGTERM: stopping"),
    }
}

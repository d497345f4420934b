//! The bare handler: axum parses the form and builds privacyIDEA's envelope with `json!`, and does
//! nothing else (as in shared/research/physical-limits.md §1). It runs in its own process
//! (`tessera-bench bare-server`) so it is measured the same way as `tessera serve`.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct CheckForm {
    user: Option<String>,
    realm: Option<String>,
    pass: Option<String>,
}

async fn check(Form(form): Form<CheckForm>) -> Json<Value> {
    // Touch the fields so the parse is not optimised away.
    let touched = form.user.map_or(0, |u| u.len())
        + form.realm.map_or(0, |r| r.len())
        + form.pass.map_or(0, |p| p.len());
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    Json(json!({
        "detail": {"message": "wrong otp value", "otplen": 6, "serial": "BENCH01", "threadid": touched, "type": "hotp"},
        "id": 2,
        "jsonrpc": "2.0",
        "result": {"authentication": "REJECT", "status": true, "value": false},
        "time": time,
        "version": "privacyIDEA 3.7.1",
        "versionnumber": "3.7.1"
    }))
}

/// Serves `POST /validate/check` on an ephemeral port; prints `bare listening on http://ADDR`.
pub fn serve() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("bare listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/validate/check", post(check));
        axum::serve(listener, app).await?;
        Ok(())
    })
}

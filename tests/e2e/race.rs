//! The same correct OTP sent by many clients at the same moment is accepted exactly once.

use std::sync::{Arc, Barrier};
use std::thread;

use crate::harness::{Api, RFC_KEY, Server, enroll_rfc_hotp, hotp, serial_of, setup_realm};

const CLIENTS: usize = 32;

/// Sends `params` from `CLIENTS` threads released together; returns (accepted, rejected) and panics
/// on anything that is not a 200 ACCEPT/REJECT.
fn race(server: &Server, params: Vec<(String, String)>) -> (usize, usize) {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let api = Api::new(server.base());
            let barrier = Arc::clone(&barrier);
            let params = params.clone();
            thread::spawn(move || {
                // Open the keep-alive connection first so the race is between requests, not connects.
                api.get("/auth", &[]);
                barrier.wait();
                let pairs: Vec<(&str, &str)> = params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                api.check(&pairs)
            })
        })
        .collect();
    let mut accepted = 0;
    let mut rejected = 0;
    for h in handles {
        let resp = h.join().unwrap();
        match resp.authentication() {
            "ACCEPT" if resp.status == 200 => accepted += 1,
            "REJECT" if resp.status == 200 => {
                assert_eq!(
                    resp.message(),
                    "wrong otp value. previous otp used again",
                    "{resp}"
                );
                rejected += 1;
            }
            _ => panic!("unexpected answer in the race: {resp}"),
        }
    }
    (accepted, rejected)
}

#[test]
fn concurrent_replays_of_one_otp_accept_exactly_once() {
    let server = Server::start();
    let admin = server.admin();
    setup_realm(&server, &admin);

    // Without a PIN, by serial: the OTP check is the whole request.
    let bare = enroll_rfc_hotp(&admin, "RACE0001", "");
    // With a PIN, by user: the PIN hash widens the window between reading and writing the counter.
    let init = admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("pin", "racepin"),
        ("user", "bob"),
        ("realm", "realm1"),
    ]);
    let bobs = serial_of(&init);
    // 31 replays a round would lock the tokens at the default maxfail of 10.
    for serial in [&bare, &bobs] {
        admin
            .post(
                "/token/set",
                &[("serial", serial), ("max_failcount", "1000000")],
            )
            .expect_ok();
    }

    for counter in 0..4 {
        let otp = hotp(RFC_KEY, counter);
        let by_serial = vec![
            ("serial".to_string(), bare.clone()),
            ("pass".to_string(), otp.clone()),
        ];
        assert_eq!(
            race(&server, by_serial),
            (1, CLIENTS - 1),
            "serial token, counter {counter}"
        );
        let by_user = vec![
            ("user".to_string(), "bob".to_string()),
            ("pass".to_string(), format!("racepin{otp}")),
        ];
        assert_eq!(
            race(&server, by_user),
            (1, CLIENTS - 1),
            "bob's token, counter {counter}"
        );
    }
}

//! The machine's reference rates, each on one core: Ed25519 sign and verify
//! (single and batched, with the node's own verifier), phone-number
//! normalisation, and durable single-record commits. Every other figure of the
//! bench is reported as a ratio to one of these, measured in the same run.
//!
//! Nothing here goes through the network; it must never touch a node's store
//! other than its own scratch database.

use std::time::Instant;

use anyhow::Result;
use ed25519_dalek::{Signer, SigningKey};

use super::{phone, preload, rate};

pub(super) struct SignatureRates {
    pub sign: f64,
    pub verify: f64,
    pub batch_verify: f64,
    /// Durable single-record commits per second (filled by [`reference`]).
    pub commit: f64,
}

/// Measures and reports every reference rate.
pub(super) async fn reference(
    root: &std::path::Path,
    report: &mut super::report::Report,
) -> Result<SignatureRates> {
    let mut sig = tokio::task::spawn_blocking(signature_rates).await?;
    out!("\nEd25519 on this machine (one core)");
    out!("  sign                  {:>10.0} /s", sig.sign);
    out!("  verify (single)       {:>10.0} /s", sig.verify);
    out!("  verify (batch of 512) {:>10.0} /s", sig.batch_verify);
    report.add(
        "ed25519.sign_per_second",
        sig.sign,
        "signatures/s",
        "one core",
    );
    report.add(
        "ed25519.verify_per_second",
        sig.verify,
        "signatures/s",
        "one core, ZIP-215",
    );
    report.add(
        "ed25519.batch_verify_per_second",
        sig.batch_verify,
        "signatures/s",
        "one core, batches of 512: the sync bound",
    );
    let (normalize, canonical) = tokio::task::spawn_blocking(phone_rates).await?;
    out!("Phone numbers (one core)");
    out!("  normalise national    {normalize:>10.0} /s");
    out!("  canonical check       {canonical:>10.0} /s   (done for every received phone record)");
    report.add(
        "phone.normalise_per_second",
        normalize,
        "values/s",
        "one core",
    );
    report.add(
        "phone.canonical_check_per_second",
        canonical,
        "values/s",
        "one core",
    );
    let root = root.to_path_buf();
    sig.commit = tokio::task::spawn_blocking(move || durable_commit_rate(&root)).await??;
    out!("Storage");
    out!("  durable commit (1 record + flush) {:>8.0} /s", sig.commit);
    report.add(
        "store.durable_commit_per_second",
        sig.commit,
        "commits/s",
        "one record + flush",
    );
    Ok(sig)
}

pub(super) fn signature_rates() -> SignatureRates {
    const N: usize = 20_000;
    let key = SigningKey::from_bytes(&[11; 32]);
    let messages: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("liaison/v1/record\0bench payload {i:>200}").into_bytes())
        .collect();
    let started = Instant::now();
    let signatures: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    let sign = rate(N as u64, started.elapsed());
    // The node's verifier (ZIP-215, record/signature.rs), single and batched.
    let public_bytes = key.verifying_key().to_bytes();
    let public = ed25519_zebra::VerificationKey::try_from(public_bytes).expect("valid key");
    let signatures: Vec<_> = signatures
        .iter()
        .map(|s| ed25519_zebra::Signature::from_bytes(&s.to_bytes()))
        .collect();
    let started = Instant::now();
    let verified = messages
        .iter()
        .zip(&signatures)
        .filter(|(m, s)| public.verify(s, m).is_ok())
        .count();
    let verify = rate(verified as u64, started.elapsed());
    let started = Instant::now();
    for (messages, signatures) in messages.chunks(512).zip(signatures.chunks(512)) {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for (message, signature) in messages.iter().zip(signatures) {
            batch.queue((public_bytes.into(), *signature, message));
        }
        let _ = batch.verify(rand_core::OsRng);
    }
    let batch_verify = rate(N as u64, started.elapsed());
    SignatureRates {
        sign,
        verify,
        batch_verify,
        commit: 0.0,
    }
}

/// Phone numbers per second: normalised from national format (publish), and
/// checked as canonical E.164 (receipt from a partner).
pub(super) fn phone_rates() -> (f64, f64) {
    const N: u64 = 5_000;
    let context = liaison_core::indicator::Context {
        default_country: Some("GB".into()),
    };
    let national: Vec<String> = (0..N)
        .map(|i| format!("07700 {:06}", i % 1_000_000))
        .collect();
    let started = Instant::now();
    for value in &national {
        let _ = liaison_core::indicator::normalize(
            liaison_core::indicator::Kind::Phone,
            value,
            &context,
        );
    }
    let normalize = rate(N, started.elapsed());
    let started = Instant::now();
    for i in 0..N {
        let _ = liaison_core::indicator::check_received_value(
            liaison_core::indicator::Kind::Phone,
            &phone(i),
        );
    }
    (normalize, rate(N, started.elapsed()))
}

/// Durable single-record commits per second (apply + flush, one writer): the
/// bound a single publishing client cannot beat.
pub(super) fn durable_commit_rate(root: &std::path::Path) -> Result<f64> {
    const N: u64 = 500;
    let store = liaison_store::store::Store::open(&root.join("commit-bench"), 16 * 1024 * 1024)?;
    let key = SigningKey::from_bytes(&[12; 32]);
    let origin = liaison_core::record::NodeId(key.verifying_key().to_bytes());
    let mut records = Vec::with_capacity(N as usize);
    for i in 0..N {
        let payload = liaison_core::record::Payload {
            origin,
            sequence: i + 1,
            created_ms: liaison_core::now_ms(),
            body: liaison_core::record::Body::Indicator(preload::indicator(
                phone(i),
                liaison_core::now_ms() + 86_400_000,
            )),
        };
        records.push(liaison_core::record::sign_payload(&key, &payload)?);
    }
    let started = Instant::now();
    for (i, record) in records.into_iter().enumerate() {
        let batch = liaison_store::store::WriteBatch {
            records: vec![record],
            ..Default::default()
        };
        store.apply(&batch, i as u64 + 1)?;
        store.flush_blocking()?;
    }
    Ok(rate(N, started.elapsed()))
}

/// The batch-verify rate alone (one core, batches of 512), for bracketing a
/// measurement: on a shared machine the CPU available changes from second to
/// second, so a ratio is fairest against the bound measured right around it.
pub(super) fn batch_verify_rate() -> f64 {
    const N: usize = 10_240;
    let key = SigningKey::from_bytes(&[13; 32]);
    let public_bytes = key.verifying_key().to_bytes();
    let signed: Vec<(Vec<u8>, ed25519_zebra::Signature)> = (0..N)
        .map(|i| {
            let message = format!("liaison/v1/record\0bench payload {i:>200}").into_bytes();
            let signature = ed25519_zebra::Signature::from_bytes(&key.sign(&message).to_bytes());
            (message, signature)
        })
        .collect();
    let started = Instant::now();
    for chunk in signed.chunks(512) {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for (message, signature) in chunk {
            batch.queue((public_bytes.into(), *signature, message));
        }
        let _ = batch.verify(rand_core::OsRng);
    }
    rate(N as u64, started.elapsed())
}

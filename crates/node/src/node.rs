//! The running node's shared state, and the publish path: turn an analyst's draft
//! into a signed record and commit it durably.
//!
//! Everything a service or a sync task needs hangs off [`Node`]; it is built once by
//! [`Node::open`] and shared behind an `Arc`. This module must never hold a lock
//! across an await or sign a payload with a sequence that could repeat.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::config::NodeConfig;
use crate::error::{Error, Result};
use liaison_core::indicator::{self, Kind};
use liaison_core::policy::Grant;
use liaison_core::record::{
    sign_payload, Body, Evaluation, HandlingCode, Indicator, Label, NodeId, Payload, RecordId, Tlp,
    VerifiedRecord,
};
use liaison_identity::identity::{NodeDir, NodeIdentity};
use liaison_identity::tls::PinSet;
use liaison_store::audit::AuditLog;
use liaison_store::store::{CommitHandle, Committer, PartnerEntry, Store, WriteBatch};

mod live_rotation;
mod partner_rotation;

const MS_PER_DAY: i64 = 86_400_000;

/// One shutdown signal that reaches every task.
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger { tx }, Shutdown { rx })
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered (or the trigger dropped).
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

/// Resolves once a watched flag turns true (or its sender is gone).
pub async fn until_set(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|set| *set).await;
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }
}

/// An analyst's indicator before it is signed: validated domain values.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: Kind,
    pub value: String,
    pub default_country: Option<String>,
    pub labels: Vec<Label>,
    pub tlp: Tlp,
    pub handling: Vec<HandlingCode>,
    pub handling_note: String,
    pub evaluation: Evaluation,
    pub valid_days: Option<u32>,
    /// An explicit end of validity; wins over `valid_days`.
    pub valid_until_ms: Option<i64>,
    pub description: String,
    pub case_reference: String,
    pub recipients: Vec<NodeId>,
    pub supersedes: Option<RecordId>,
    /// Who first reported it (checked by `record::source_from_wire`); empty: us.
    pub source: String,
    /// When it was first seen, when stated; never after the record's creation.
    pub first_seen_ms: Option<i64>,
}

/// A partner's live state (not persisted): its grant and the signal that ends its
/// streams when it is revoked.
pub struct PartnerLive {
    pub entry: PartnerEntry,
    pub grant: Grant,
    pub revoked: watch::Sender<bool>,
    /// The sync connection's state and, when it failed, the raw reason.
    pub connection: crate::partner_state::Diagnosis,
    /// Whether the partner has accepted us since it was enrolled here (a
    /// later refusal of our certificate then means it revoked us); read from
    /// and written through to the store, so it survives a restart.
    pub accepted_us: bool,
    /// Wakes the puller from its backoff.
    pub kick: Arc<tokio::sync::Notify>,
    /// A lazily connected channel for calls to the partner (federated search).
    pub channel: Option<tonic::transport::Channel>,
    /// What the partner last stated in the handshake (its Ping answer or its
    /// Pull request), and what that means here (`sync::compat::compatibility`).
    pub version: Option<crate::sync::compat::PeerVersion>,
    pub compatibility: String,
}

pub struct Node {
    pub identity: NodeIdentity,
    pub config: NodeConfig,
    pub dir: NodeDir,
    pub store: Store,
    pub commits: CommitHandle,
    pub pins: PinSet,
    /// Checks that a client certificate was issued by this agency's CA.
    pub local_ca: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    pub audit: AuditLog,
    pub shutdown: Shutdown,
    partners: Mutex<HashMap<NodeId, PartnerLive>>,
    next_sequence: AtomicU64,
    bound: Mutex<Option<String>>,
    /// Rate limits and the one-Pull-stream-per-partner rule.
    pub limits: crate::limits::Limits,
    /// Searches in flight, which background work yields to.
    pub foreground: crate::foreground::Foreground,
    /// The last TLS rotation, while its old certificate is on disk (partners
    /// are told with it; see identity/rotation.rs); replaced by a live rotation.
    rotation: std::sync::RwLock<Option<Arc<liaison_identity::identity::Rotation>>>,
    /// Held through a live rotation: the check that no partner is locked out
    /// and the rotation itself are one step.
    rotating: tokio::sync::Mutex<()>,
    /// Signed heads of our own record log and those partners showed us.
    pub heads: crate::accountability::heads::state::Heads,
    /// Private lookups: this node's filters and quotas, and partners' cached filters.
    pub lookup: crate::lookup::state::LookupState,
    /// The TLS certificate and key in force (a live rotation swaps them);
    /// `identity.tls_*` keep the pair loaded at start.
    pub live_tls: Arc<liaison_identity::tls::LiveTls>,
}

impl Node {
    /// Loads the identity `config` names, opens the database, starts the committer.
    pub fn open(
        dir: NodeDir,
        config: NodeConfig,
        shutdown: Shutdown,
    ) -> Result<(Arc<Node>, tokio::task::JoinHandle<()>)> {
        let promoted = liaison_identity::identity::promote_staged_tls(
            &dir,
            config.rotation.tls_grace_seconds,
        )?;
        let identity = dir.load_identity_named(&config.name)?;
        // A planted certificate must stop the node before it trusts anyone.
        liaison_identity::identity::check_key_pairs(&dir)?;
        let rotation = liaison_identity::identity::load_rotation(&dir)?;
        let store = Store::open_with(
            &dir.database(),
            config.cache_mb * 1024 * 1024,
            &config.store,
        )?;
        store.set_max_retention_ms(config.max_retention_ms());
        let audit = AuditLog::open_signed(
            &dir.audit_log(),
            identity.signing_key.clone(),
            &config.audit,
        )
        .map_err(|e| Error::Audit(e.to_string()))?;
        let next_sequence = store.origin_sequence(&identity.node_id())? + 1;
        let local_ca = liaison_identity::tls::local_ca_verifier(&identity.ca_cert_der)?;
        let live_tls =
            liaison_identity::tls::LiveTls::new(&identity.tls_cert_der, &identity.tls_key_der)?;
        let (commits, committer) = Committer::spawn(store.clone())?;
        let limits = crate::limits::Limits::new(&config.limits);
        let heads = crate::accountability::heads::state::Heads::load(dir.heads_file());
        let node = Node {
            identity,
            config,
            dir,
            store,
            commits,
            pins: PinSet::default(),
            local_ca,
            audit,
            shutdown,
            partners: Mutex::new(HashMap::new()),
            next_sequence: AtomicU64::new(next_sequence),
            bound: Mutex::new(None),
            limits,
            foreground: Default::default(),
            rotation: std::sync::RwLock::new(rotation.map(Arc::new)),
            rotating: tokio::sync::Mutex::new(()),
            heads,
            lookup: Default::default(),
            live_tls,
        };
        if let Some(rotated) = promoted {
            tracing::info!(new_pin = %rotated.new_pin, "new TLS certificate in force; partners are told at their next connection");
            node.audit
                .record(
                    "node",
                    "identity.rotate_tls",
                    serde_json::json!({ "old_pin": rotated.old_pin, "new_pin": rotated.new_pin }),
                )
                .map_err(|e| Error::Audit(e.to_string()))?;
        }
        for pin in node.store.revoked_clients()? {
            node.pins.deny(pin);
        }
        for (id, entry) in node.store.partners()? {
            node.register_partner(id, entry)?;
        }
        Ok((Arc::new(node), committer))
    }

    pub fn node_id(&self) -> NodeId {
        self.identity.node_id()
    }

    /// Appends to the audit log on a blocking thread (each entry is synced to
    /// disk), so no async worker waits on the disk.
    pub async fn audit(
        self: &Arc<Self>,
        actor: String,
        action: &'static str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let node = self.clone();
        tokio::task::spawn_blocking(move || node.audit.record(&actor, action, detail))
            .await
            .map_err(|_| Error::ShuttingDown)?
            .map_err(|e| Error::Audit(e.to_string()))
    }

    pub fn set_bound_address(&self, address: String) {
        if let Ok(mut bound) = self.bound.lock() {
            *bound = Some(address);
        }
    }

    /// Where partners reach this node, as written in its enrollment bundle.
    pub fn advertised_endpoints(&self) -> Vec<String> {
        let bound = self.bound.lock().ok().and_then(|b| b.clone());
        self.config.advertised_endpoints(bound.as_deref())
    }

    /// Publishes one analyst's draft: normalised, checked against the
    /// warninglists (a listed value is published with their names as a warning,
    /// or, when `strict`, refused before anything is signed), signed with the
    /// next sequence and committed durably.
    pub async fn publish(
        &self,
        draft: Draft,
        strict: bool,
    ) -> Result<(VerifiedRecord, Vec<String>)> {
        let created_ms = liaison_core::now_ms();
        let indicator = self.indicator_from_draft(draft, created_ms)?;
        let lists =
            crate::warninglist::checked(&self.store, indicator.kind, &indicator.value, strict)?;
        let record = self
            .sign_and_commit(Body::Indicator(indicator), created_ms)
            .await?;
        Ok((record, lists))
    }

    /// The indicator an analyst's draft becomes: value normalised, validity
    /// resolved, supersede permission checked. Not yet signed.
    pub(crate) fn indicator_from_draft(&self, draft: Draft, created_ms: i64) -> Result<Indicator> {
        let context = indicator::Context {
            default_country: draft
                .default_country
                .clone()
                .or_else(|| Some(self.config.default_country.clone()).filter(|c| !c.is_empty())),
        };
        let normalized = indicator::normalize(draft.kind, &draft.value, &context)?;
        if let Some(earlier) = draft.supersedes {
            self.check_supersedable(&earlier)?;
        }
        let days = i64::from(draft.valid_days.unwrap_or(self.config.default_valid_days));
        let max_days = self.config.max_retention_days;
        if days > i64::from(max_days) {
            return Err(Error::InvalidRequest(format!(
                "valid_days: {days} days is longer than this node keeps any record (max_retention_days = {max_days})"
            )));
        }
        let valid_until_ms = match draft.valid_until_ms {
            Some(until) if until <= created_ms => {
                return Err(Error::InvalidRequest(
                    "valid_until_unix_ms: lies in the past; the record would never be valid".into(),
                ))
            }
            Some(until) if until - created_ms > i64::from(max_days) * MS_PER_DAY => {
                return Err(Error::InvalidRequest(format!(
                    "valid_until_unix_ms: more than {max_days} days ahead, longer than this node keeps any record (max_retention_days)"
                )))
            }
            Some(until) => until,
            None => created_ms.saturating_add(days.saturating_mul(MS_PER_DAY)),
        };
        if let Some(first_seen) = draft.first_seen_ms.filter(|&ms| ms > created_ms) {
            return Err(Error::InvalidRequest(format!(
                "first_seen_unix_ms: {first_seen} lies in the future; an indicator is first seen before it is published"
            )));
        }
        Ok(Indicator {
            kind: normalized.kind,
            value: normalized.value,
            labels: draft.labels,
            tlp: draft.tlp,
            handling: draft.handling,
            handling_note: draft.handling_note,
            evaluation: draft.evaluation,
            valid_until_ms,
            description: draft.description,
            case_reference: draft.case_reference,
            recipients: draft.recipients,
            supersedes: draft.supersedes,
            outside_known_ranges: normalized.outside_known_ranges,
            source: draft.source,
            first_seen_ms: draft.first_seen_ms,
        })
    }

    /// Withdraws one of our own records: a signed Revocation that travels to
    /// everyone who may have received the record.
    pub async fn revoke(&self, target: RecordId, reason: String) -> Result<VerifiedRecord> {
        let stored = self
            .store
            .get(&target)?
            .ok_or_else(|| Error::NotFound(target.to_hex()))?;
        if stored.record.origin() != self.node_id() {
            return Err(Error::PermissionDenied(
                "only the origin agency can revoke its record; ask its origin to".into(),
            ));
        }
        // A bulletin can be withdrawn like an indicator (issue 15).
        if stored.record.payload.indicator().is_none() && stored.record.payload.bulletin().is_none()
        {
            return Err(Error::InvalidRequest(
                "record_id: only an indicator or a bulletin can be revoked".into(),
            ));
        }
        if self.store.is_tombstoned(&target)? {
            return Err(Error::Conflict(format!(
                "record {target} is already revoked or superseded"
            )));
        }
        let body = Body::Revocation(liaison_core::record::Revocation {
            record_id: target,
            reason,
        });
        self.sign_and_commit(body, liaison_core::now_ms()).await
    }

    /// Records that this agency saw an indicator too (or, by `kind`, that it is a
    /// false positive or no longer in use).
    pub async fn sight(
        &self,
        target: RecordId,
        note: String,
        kind: liaison_core::record::SightingType,
    ) -> Result<VerifiedRecord> {
        let stored = self
            .store
            .get(&target)?
            .ok_or_else(|| Error::NotFound(target.to_hex()))?;
        if stored.record.payload.indicator().is_none() || self.store.is_tombstoned(&target)? {
            return Err(Error::InvalidRequest(
                "record_id: only a live indicator record can be sighted".into(),
            ));
        }
        let body = Body::Sighting(liaison_core::record::Sighting {
            record_id: target,
            note,
            kind,
        });
        self.sign_and_commit(body, liaison_core::now_ms()).await
    }

    fn check_supersedable(&self, earlier: &RecordId) -> Result<()> {
        let stored = self
            .store
            .get(earlier)?
            .ok_or_else(|| Error::NotFound(earlier.to_hex()))?;
        match stored.record.origin() == self.node_id() {
            true => Ok(()),
            false => Err(Error::PermissionDenied(
                "only the origin agency can supersede its record".into(),
            )),
        }
    }

    pub(crate) async fn sign_and_commit(
        &self,
        body: Body,
        created_ms: i64,
    ) -> Result<VerifiedRecord> {
        let record = self.sign_own(body, created_ms)?;
        self.commit_own(vec![record.clone()], Vec::new(), created_ms)
            .await?;
        Ok(record)
    }

    /// The one way records this node signed become durable: one atomic write
    /// through the group committer (with any bulletin openings), acknowledged
    /// only once flushed. Every publish path ends here: single publish,
    /// revoke, sight, bulk publish and bulletins.
    pub(crate) async fn commit_own(
        &self,
        records: Vec<VerifiedRecord>,
        openings: Vec<(
            liaison_core::record::RecordId,
            Vec<liaison_core::bulletin::Opening>,
        )>,
        created_ms: i64,
    ) -> Result<()> {
        let batch = WriteBatch {
            records,
            received_ms: created_ms,
            openings,
            ..Default::default()
        };
        self.commits.commit(batch).await?;
        Ok(())
    }

    /// Signs a body of ours with the next sequence (not yet stored).
    pub(crate) fn sign_own(&self, body: Body, created_ms: i64) -> Result<VerifiedRecord> {
        let sequence = self.next_sequence.fetch_add(1, Ordering::SeqCst);
        let payload = Payload {
            origin: self.node_id(),
            sequence,
            created_ms,
            body,
        };
        let record = sign_payload(&self.identity.signing_key, &payload).inspect_err(|_| {
            // Refused before signing: hand the sequence back unless a later one
            // was taken meanwhile (a gap in an origin's sequence is harmless).
            let _ = self.next_sequence.compare_exchange(
                sequence + 1,
                sequence,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        })?;
        Ok(record)
    }

    /// Adds a partner to the live registry and the TLS pins.
    pub fn register_partner(&self, id: NodeId, entry: PartnerEntry) -> Result<()> {
        let grant = Grant {
            node: id,
            max_tlp: entry.max_tlp.parse()?,
            relay: entry.relay,
            kind: entry.kind.parse()?,
        };
        let pin = self.check_new_partner_pin(&id, &entry)?;
        self.pins.insert(pin, id);
        self.pin_previous(&id, &entry);
        let (revoked, _) = watch::channel(false);
        // Unreadable, it reads as "not accepted yet": the state is then less
        // precise, never wrong about enrollment here.
        let accepted_us = self.store.accepted_us(&id).unwrap_or(false);
        let live = PartnerLive {
            entry,
            grant,
            revoked,
            connection: crate::partner_state::Diagnosis::new(
                crate::partner_state::PartnerState::Connecting,
                "not tried yet",
            ),
            accepted_us,
            kick: Arc::new(tokio::sync::Notify::new()),
            channel: None,
            version: None,
            compatibility: String::new(),
        };
        if let Ok(mut partners) = self.partners.lock() {
            partners.insert(id, live);
        }
        Ok(())
    }

    /// Removes a partner: its pin goes first (no new handshakes, no new calls),
    /// then its open streams are told to end.
    pub fn unregister_partner(&self, id: &NodeId) -> bool {
        self.pins.remove_node(id);
        let removed = self.partners.lock().ok().and_then(|mut p| p.remove(id));
        liaison_core::telemetry::emit().forget_partner(id);
        match removed {
            Some(live) => {
                live.revoked.send_replace(true);
                true
            }
            None => false,
        }
    }

    pub fn grant_for(&self, id: &NodeId) -> Option<Grant> {
        self.partners.lock().ok()?.get(id).map(|p| p.grant)
    }

    pub fn partner_entry(&self, id: &NodeId) -> Option<PartnerEntry> {
        self.partners.lock().ok()?.get(id).map(|p| p.entry.clone())
    }

    /// A receiver that turns true when the partner is revoked.
    pub fn revocation_signal(&self, id: &NodeId) -> Option<watch::Receiver<bool>> {
        self.partners
            .lock()
            .ok()?
            .get(id)
            .map(|p| p.revoked.subscribe())
    }

    /// A channel to the partner over pinned mTLS, made on first use and reused;
    /// it reconnects by itself.
    pub async fn partner_channel(&self, id: &NodeId) -> Result<tonic::transport::Channel> {
        let entry = {
            let partners = self.partners.lock().map_err(|_| Error::ShuttingDown)?;
            let live = partners
                .get(id)
                .ok_or_else(|| Error::NotFound(format!("partner {id}")))?;
            if let Some(channel) = &live.channel {
                return Ok(channel.clone());
            }
            live.entry.clone()
        };
        let address = entry
            .endpoints
            .first()
            .ok_or_else(|| Error::InvalidRequest("partner lists no endpoint".into()))?;
        let bundle = liaison_identity::identity::Bundle::from_signed(
            &hex::decode(&entry.bundle).unwrap_or_default(),
        )?;
        let config =
            liaison_identity::tls::client_config_live(&self.live_tls, &bundle.tls_cert_der)?;
        let channel = crate::channel::connect_channel(address, config, true).await?;
        if let Ok(mut partners) = self.partners.lock() {
            if let Some(live) = partners.get_mut(id) {
                live.channel = Some(channel.clone());
            }
        }
        Ok(channel)
    }

    pub fn puller_kick(&self, id: &NodeId) -> Option<Arc<tokio::sync::Notify>> {
        self.partners.lock().ok()?.get(id).map(|p| p.kick.clone())
    }

    pub fn partner_ids(&self) -> Vec<NodeId> {
        self.partners
            .lock()
            .map(|p| p.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Records the sync connection's state.
    pub fn set_connection_state(&self, id: &NodeId, state: crate::partner_state::Diagnosis) {
        if let Ok(mut partners) = self.partners.lock() {
            if let Some(live) = partners.get_mut(id) {
                live.connection = state;
            }
        }
    }

    /// Remembers that the partner accepted us (a sync stream opened), durably
    /// the first time, so that its refusal after our restart still reads as
    /// "revoked by the partner". A failed write is logged, not fatal: only the
    /// wording of a later refusal depends on it.
    pub async fn remember_accepted_us(&self, id: &NodeId) {
        let known = self
            .partners
            .lock()
            .ok()
            .and_then(|p| p.get(id).map(|l| l.accepted_us))
            .unwrap_or(true);
        if known {
            return;
        }
        if let Err(e) = self.store.mark_accepted_us(id).await {
            tracing::warn!(partner = %id.short(), error = %e, "cannot record that the partner accepted us");
        }
        if let Ok(mut partners) = self.partners.lock() {
            if let Some(live) = partners.get_mut(id) {
                live.accepted_us = true;
            }
        }
    }

    /// Keeps what the partner stated in the handshake, with its compatibility.
    pub fn set_partner_version(&self, id: &NodeId, version: crate::sync::compat::PeerVersion) {
        let compatibility = crate::sync::compat::compatibility(&version);
        if let Ok(mut partners) = self.partners.lock() {
            if let Some(live) = partners.get_mut(id) {
                live.version = Some(version);
                live.compatibility = compatibility;
            }
        }
    }

    /// What the partner last stated, and its compatibility line (empty when fine).
    pub fn partner_version(
        &self,
        id: &NodeId,
    ) -> (Option<crate::sync::compat::PeerVersion>, String) {
        self.partners
            .lock()
            .ok()
            .and_then(|p| {
                p.get(id)
                    .map(|l| (l.version.clone(), l.compatibility.clone()))
            })
            .unwrap_or_default()
    }

    /// Names a failed call or connection to `id`, taking into account whether
    /// it accepted us before (a sync stream opened since it was enrolled here,
    /// kept in the store; or, for a database from before that was kept, it sent
    /// us part of its log).
    pub fn diagnose(
        &self,
        id: &NodeId,
        mut diagnosis: crate::partner_state::Diagnosis,
    ) -> crate::partner_state::Diagnosis {
        let accepted_before = self
            .partners
            .lock()
            .ok()
            .and_then(|p| p.get(id).map(|l| l.accepted_us))
            .unwrap_or(false)
            || self
                .store
                .sync_state(id)
                .is_ok_and(|s| s.cursor > 0 || s.received > 0);
        diagnosis.state = diagnosis.state.given_history(accepted_before);
        diagnosis
    }

    /// The sync connection's state (`Connecting` for an unknown partner).
    pub fn partner_state(&self, id: &NodeId) -> crate::partner_state::PartnerState {
        self.partners
            .lock()
            .ok()
            .and_then(|p| p.get(id).map(|l| l.connection.state))
            .unwrap_or(crate::partner_state::PartnerState::Connecting)
    }

    /// The sync connection's state in words (`partner list`): `connected`,
    /// or `disconnected: <state>`.
    /// A protocol mismatch names what was refused (this node's own words, stable
    /// across retries: "batch of 2000 records refused: at most 1024 per batch").
    pub fn connection_state(&self, id: &NodeId) -> String {
        use crate::partner_state::PartnerState;
        let diagnosis = self
            .partners
            .lock()
            .ok()
            .and_then(|p| p.get(id).map(|l| l.connection.clone()));
        let Some(diagnosis) = diagnosis else {
            return PartnerState::Connecting.to_string();
        };
        match diagnosis.state {
            state @ (PartnerState::Connected | PartnerState::Connecting) => state.to_string(),
            PartnerState::ProtocolMismatch if !diagnosis.detail.is_empty() => {
                format!("disconnected: {} ({})", diagnosis.state, diagnosis.detail)
            }
            state => format!("disconnected: {state}"),
        }
    }
}

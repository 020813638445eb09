//! A partner withdrawing another agency's record: a revocation or a superseding
//! version of a record whose origin is not its own, straight or relayed, and a
//! revocation sent ahead of its target.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_cannot_revoke_or_supersede_another_agencys_record() {
    let mut victim = TestNode::init(VICTIM);
    let mut direct = TestNode::init(DIRECT);
    victim.start();
    direct.start();
    direct.enroll(&victim, "green", false);
    victim.enroll(&direct, "green", false);
    let b1 = direct.publish("phone", "+447700900911", "green", &[]);
    let own = victim.publish("phone", "+447700900912", "green", &[]);
    // A record of the direct partner that reaches the victim only through the
    // relay, later (signed with the direct partner's key).
    let direct_key = identity_of(&direct.node_dir()).signing_key;
    let early = signed(
        &direct_key,
        1_000,
        indicator("+447700900913", Tlp::Green, vec![]),
    );
    let early_id = id_of(&early);

    let relay_dir = TestNode::init(RELAY);
    let relay = StepPeer::start(&relay_dir.node_dir(), &victim.node_dir()).await;
    enroll(&victim, &relay, &["--max-tlp", "green", "--relay"]);
    let key = relay.identity.signing_key.clone();
    let revoke = |seq: u64, target: &str| {
        let body = Body::Revocation(Revocation {
            record_id: target.parse().unwrap(),
            reason: "withdrawn by someone else".into(),
        });
        signed_body(&key, seq, body, liaison::now_ms())
    };
    let supersede = |seq: u64, target: &str, value: &str| {
        let mut body = indicator(value, Tlp::Green, vec![]);
        body.supersedes = Some(target.parse().unwrap());
        signed(&key, seq, body)
    };

    // Ahead of its target: the relay's revocation of a record not held here
    // is kept (it may come later, straight from its origin)...
    let cursor = relay.send(Step {
        records: vec![revoke(1, &early_id.to_hex())],
        origins: vec![],
    });
    let row = settled(&victim, RELAY, cursor);
    assert_eq!(int(&row["recordsReceived"]), 1, "{row}");
    // ...but it never acts on it when the target arrives.
    let cursor = relay.send(Step {
        records: vec![early],
        origins: vec![],
    });
    let row = settled(&victim, RELAY, cursor);
    assert_eq!(int(&row["recordsReceived"]), 2, "{row}");
    assert!(common::holds(&victim, "+447700900913", &early_id.to_hex()));
    assert_ne!(
        victim.cli_json(&["get", &early_id.to_hex()])["revoked"],
        true
    );
    assert!(
        eventually(WAIT, || common::holds(&victim, "+447700900911", &b1)),
        "the direct partner's record never arrived"
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![revoke(2, &b1)],
            origins: vec![],
        },
        1,
        "tries to revoke a record of another origin",
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![supersede(3, &b1, "+447700900914")],
            origins: vec![],
        },
        1,
        "tries to supersede a record of another origin",
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![revoke(4, &own)],
            origins: vec![],
        },
        1,
        "tries to revoke a record of another origin",
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![supersede(5, &own, "+447700900915")],
            origins: vec![],
        },
        1,
        "tries to supersede a record of another origin",
    );
    // Relayed from a third party, with its own bundle: the same.
    let third = fresh_identity("Agency Third (example)");
    let relayed = signed_body(
        &third.signing_key,
        1,
        Body::Revocation(Revocation {
            record_id: b1.parse().unwrap(),
            reason: "relayed withdrawal".into(),
        }),
        liaison::now_ms(),
    );
    refused(
        &victim,
        &relay,
        Step {
            records: vec![relayed],
            origins: vec![carried(&third)],
        },
        1,
        "tries to revoke a record of another origin",
    );

    for (value, id) in [("+447700900911", &b1), ("+447700900912", &own)] {
        assert!(common::holds(&victim, value, id), "{value} withdrawn");
        assert_ne!(victim.cli_json(&["get", id])["revoked"], true, "{value}");
    }
    for value in ["+447700900914", "+447700900915"] {
        assert!(victim.search_ids(value).is_empty(), "{value} stored");
    }
}

//! The bounding and rotation rules of the book, without a node.

use super::*;

fn seen(size: u64, root: &str, received: i64) -> Seen {
    Seen {
        size,
        root: root.into(),
        last_sequence: size,
        signed_unix_ms: 0,
        via: "partner".into(),
        signed: String::new(),
        received_unix_ms: received,
    }
}

fn origin(n: usize) -> String {
    format!("{n:064x}")
}

#[test]
fn one_proof_of_equivocation_per_origin_however_many_conflicting_heads_arrive() {
    let mut book = Book::default();
    let a = origin(1);
    assert_eq!(book.observe(&a, seen(1, "r1", 1), 1), Outcome::Advanced);
    assert_eq!(book.observe(&a, seen(1, "r1", 2), 2), Outcome::Unchanged);
    assert_eq!(book.observe(&a, seen(1, "x0", 3), 3), Outcome::NewConflict);
    for i in 0..500 {
        let outcome = book.observe(&a, seen(1, &format!("x{i}"), 4), 4);
        assert!(matches!(
            outcome,
            Outcome::RepeatConflict | Outcome::Unchanged
        ));
    }
    assert_eq!(book.conflicts.len(), 1);
    assert_eq!(book.conflicts[0].first.root, "r1");
    assert_eq!(book.conflicts[0].second.root, "x0");
    // Conflicts at other sizes of the same origin add nothing either.
    book.observe(&a, seen(2, "y", 5), 5);
    assert_eq!(
        book.observe(&a, seen(2, "z", 5), 5),
        Outcome::RepeatConflict
    );
    assert_eq!(book.conflicts.len(), 1);
    // Roots per origin stay bounded.
    for size in 3..1000 {
        book.observe(&a, seen(size, "r", 6), 6);
    }
    assert_eq!(book.roots[&a].len(), HISTORY);
}

#[test]
fn a_full_book_evicts_strangers_then_the_oldest_known_never_partners_or_proofs() {
    let bound = 20;
    let mut book = Book::default();
    for n in 0..bound {
        book.observe(&origin(n), seen(1, "r", n as i64), 0);
    }
    // 0..5 partners, 5..10 strangers, 10..20 known; 12 holds a proof.
    book.observe(&origin(12), seen(1, "other", 0), 0);
    let standing = |o: &str| {
        let n = usize::from_str_radix(o, 16).unwrap();
        match n {
            0..5 => Standing::Partner,
            5..10 => Standing::Stranger,
            _ => Standing::Known,
        }
    };
    let evicted = book.make_room(bound, standing).unwrap();
    // Down to 18: two go, both strangers.
    assert_eq!(evicted, vec![origin(5), origin(6)]);
    assert_eq!(book.latest.len(), 18);
    assert!(book.roots.len() == 18 && !book.roots.contains_key(&origin(5)));
    // Below the bound: nothing goes.
    assert_eq!(book.make_room(bound, standing), Some(vec![]));
    // Fill up again: the other strangers go, then the least recently received
    // known origins, never 12 (its proof) nor a partner.
    for n in 100..102 {
        book.observe(&origin(n), seen(1, "r", 1000), 0);
    }
    let evicted = book.make_room(bound, standing).unwrap();
    assert_eq!(evicted, vec![origin(7), origin(8)]);
    for round in 0..10 {
        while book.latest.len() < bound {
            let n = 200 + round * 10 + book.latest.len();
            book.observe(&origin(n), seen(1, "r", 2000 + n as i64), 0);
        }
        book.make_room(bound, standing);
    }
    for n in 0..5 {
        assert!(book.tracks(&origin(n)), "partner {n} evicted");
    }
    assert!(book.tracks(&origin(12)) && book.has_conflict(&origin(12)));
    assert!(book.latest.len() < bound);
}

#[test]
fn a_book_of_partners_only_refuses_a_new_origin() {
    let mut book = Book::default();
    for n in 0..4 {
        book.observe(&origin(n), seen(1, "r", 0), 0);
    }
    assert_eq!(book.make_room(4, |_| Standing::Partner), None);
    assert_eq!(book.latest.len(), 4);
}

#[test]
fn partners_go_first_and_the_rest_take_turns() {
    let mut latest = BTreeMap::new();
    // Thirty made-up origins with low ids, and two partners with high ones.
    for n in 0..30 {
        latest.insert(origin(n), seen(1, "r", 0));
    }
    let partners: HashSet<String> = [origin(900), origin(901)].into();
    for p in &partners {
        latest.insert(p.clone(), seen(1, "r", 0));
    }
    let skip = [origin(3)];
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    let (first, cursor) = gossip_order(&latest, &partners, &skip, None, 8);
    assert_eq!(first[..2], [origin(900), origin(901)]);
    assert_eq!(first.len(), 8);
    assert!(!first.contains(&origin(3)));
    assert_eq!(cursor.as_deref(), Some(origin(6).as_str()));
    // Every other origin is sent within a few rounds, partners every time.
    let mut sent = HashSet::new();
    let mut cursor = cursor;
    sent.extend(first);
    for _ in 0..5 {
        let (next, moved) = gossip_order(&latest, &partners, &skip, cursor.as_deref(), 8);
        assert_eq!(next[..2], [origin(900), origin(901)]);
        sent.extend(next);
        cursor = moved;
    }
    assert_eq!(sent.len(), latest.len() - 1, "all but the skipped one");
    // A cursor whose origin was evicted still rotates from its place.
    let (next, _) = gossip_order(&latest, &partners, &[], Some(&origin(1000)), 4);
    assert_eq!(next[2..], [origin(0), origin(1)]);
}

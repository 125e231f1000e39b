use uuid::Uuid;

use crate::{Chunk, Embedder, HashEmbedder, IndexError, KnowledgeIndex};

fn chunks(title: &str, texts: &[&str]) -> Vec<Chunk> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| Chunk {
            chunk_id: i as u32,
            title: title.to_owned(),
            heading: format!("Part {i}"),
            url: None,
            text: (*text).to_owned(),
        })
        .collect()
}

fn sample() -> (KnowledgeIndex, Uuid, Uuid) {
    let mut index = KnowledgeIndex::new().expect("index");
    let returns = Uuid::new_v4();
    let shipping = Uuid::new_v4();
    let returns_chunks = chunks(
        "Returns policy",
        &[
            "Return items within 60 days for a refund.",
            "Gift cards cannot be returned.",
        ],
    );
    index
        .add_document(
            returns,
            "Returns policy",
            Some("https://help.example/returns"),
            &returns_chunks,
            None,
        )
        .expect("add");
    let shipping_chunks = chunks(
        "Shipping",
        &[
            "Express delivery arrives the next day.",
            "Kayaks ship by freight.",
        ],
    );
    index
        .add_document(shipping, "Shipping", None, &shipping_chunks, None)
        .expect("add");
    (index, returns, shipping)
}

#[test]
fn search_finds_passages_with_their_document_title_url_and_chunk() {
    let (index, returns, _) = sample();
    assert_eq!(index.len(), 4);
    assert_eq!(index.documents().len(), 2);
    let hits = index
        .search("how do I get a refund?", 3, None)
        .expect("search");
    assert_eq!(hits[0].document_id, returns);
    assert_eq!(hits[0].title, "Returns policy");
    assert_eq!(hits[0].url.as_deref(), Some("https://help.example/returns"));
    assert_eq!(hits[0].chunk_id, 0);
    assert_eq!(hits[0].heading, "Part 0");
    assert_eq!(hits[0].text, "Return items within 60 days for a refund.");
    assert!(hits[0].score > 0.0);
    // Stemming: "kayak" finds "Kayaks"; query syntax is just text.
    let hits = index
        .search("kayak AND \"(freight\" -title:x", 3, None)
        .expect("search");
    assert_eq!(hits[0].text, "Kayaks ship by freight.");
    assert!(index.search("", 3, None).expect("search").is_empty());
    assert!(
        index
            .search("the of and", 3, None)
            .expect("search")
            .is_empty()
    );
    assert!(index.search("refund", 0, None).expect("search").is_empty());
}

#[test]
fn a_removed_document_is_gone_at_once_and_a_replaced_one_has_only_its_new_passages() {
    let (mut index, returns, shipping) = sample();
    assert!(index.remove_document(returns).expect("remove"));
    assert!(!index.remove_document(returns).expect("remove again"));
    assert!(
        index
            .search("refund gift cards returned", 5, None)
            .expect("search")
            .is_empty()
    );
    assert_eq!(index.len(), 2);
    let new = chunks("Shipping", &["Standard delivery takes five days."]);
    index
        .add_document(shipping, "Shipping v2", None, &new, None)
        .expect("replace");
    assert_eq!(index.len(), 1);
    assert!(
        index
            .search("express kayaks", 5, None)
            .expect("search")
            .is_empty()
    );
    let hits = index.search("standard delivery", 5, None).expect("search");
    assert_eq!((hits.len(), hits[0].title.as_str()), (1, "Shipping v2"));
}

#[test]
fn the_blob_round_trips_and_the_loaded_index_takes_more_documents() {
    let (index, returns, shipping) = sample();
    let bytes = index.to_bytes().expect("to_bytes");
    let mut loaded = KnowledgeIndex::from_bytes(&bytes).expect("from_bytes");
    assert_eq!(loaded.documents(), index.documents());
    for query in ["refund", "express delivery", "gift cards"] {
        assert_eq!(
            loaded.search(query, 4, None).expect("loaded"),
            index.search(query, 4, None).expect("original")
        );
    }
    loaded.remove_document(returns).expect("remove");
    let tents = Uuid::new_v4();
    loaded
        .add_document(
            tents,
            "Tents",
            None,
            &chunks("Tents", &["Dry your tent before storing it."]),
            None,
        )
        .expect("add");
    let again =
        KnowledgeIndex::from_bytes(&loaded.to_bytes().expect("to_bytes")).expect("from_bytes");
    assert_eq!(
        again.search("tent", 3, None).expect("search")[0].document_id,
        tents
    );
    assert_eq!(
        again.search("express", 3, None).expect("search")[0].document_id,
        shipping
    );
    assert!(again.search("refund", 3, None).expect("search").is_empty());
    assert!(matches!(
        KnowledgeIndex::from_bytes(b"nope"),
        Err(IndexError::Blob(_))
    ));
    assert!(matches!(
        KnowledgeIndex::from_bytes(&bytes[..bytes.len() / 2]),
        Err(IndexError::Blob(_))
    ));
}

#[test]
fn hybrid_search_fuses_vectors_and_checks_their_dimensions() {
    let embedder = HashEmbedder::new(64);
    let mut index = KnowledgeIndex::new().expect("index");
    let texts = [
        "Waterproofing leather boots with wax.",
        "Washing a down jacket at 30 degrees.",
    ];
    let vectors: Vec<Vec<f32>> = texts.iter().map(|text| embedder.embed(text)).collect();
    let boots = Uuid::new_v4();
    index
        .add_document(boots, "Care", None, &chunks("Care", &texts), Some(vectors))
        .expect("add");
    assert_eq!(index.embedding_dimension(), Some(64));
    let query = embedder.embed("waterproof boots");
    let hits = index
        .search("waterproof boots", 2, Some(&query))
        .expect("hybrid");
    assert_eq!(hits[0].chunk_id, 0);
    // Fused scores: 1/(60+1) for the top of both lists.
    assert!(
        (hits[0].score - 2.0 / 61.0).abs() < 1e-6,
        "{}",
        hits[0].score
    );
    // The vector list alone still ranks passages BM25 cannot find.
    let hits = index
        .search("zzz", 2, Some(&embedder.embed("washing a down jacket")))
        .expect("dense only");
    assert_eq!(hits[0].chunk_id, 1);
    let wrong = index.search("boots", 2, Some(&[0.0; 3]));
    assert!(matches!(wrong, Err(IndexError::Embeddings(_))));
    let one = chunks("X", &["a b"]);
    let count = index.add_document(Uuid::new_v4(), "X", None, &one, Some(vec![]));
    assert!(matches!(count, Err(IndexError::Embeddings(_))));
    let dimension = index.add_document(Uuid::new_v4(), "X", None, &one, Some(vec![vec![0.5; 8]]));
    assert!(matches!(dimension, Err(IndexError::Embeddings(_))));
    assert_eq!(index.documents().len(), 1);
    index.remove_document(boots).expect("remove");
    assert_eq!(index.embedding_dimension(), None);
}

#[test]
fn an_index_can_be_shared_between_request_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<KnowledgeIndex>();
    let (index, _, _) = sample();
    assert_eq!(
        format!("{index:?}"),
        "KnowledgeIndex { documents: 2, passages: 4, dimension: None }"
    );
}

#[test]
fn a_batch_is_added_in_one_commit_all_or_nothing_and_the_later_duplicate_wins() {
    use crate::NewDocument;
    let mut index = KnowledgeIndex::new().expect("index");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let first = chunks("A", &["alpine lakes"]);
    let second = chunks("A", &["boreal forests"]);
    let other = chunks("B", &["coastal cliffs"]);
    let new = |document_id, chunks| NewDocument {
        document_id,
        title: "T",
        url: None,
        chunks,
        embeddings: None,
    };
    index
        .add_documents(vec![new(a, &first), new(b, &other), new(a, &second)])
        .expect("batch");
    assert_eq!(index.len(), 2);
    assert!(index.search("alpine", 3, None).expect("search").is_empty());
    assert_eq!(
        index.search("boreal", 3, None).expect("search")[0].document_id,
        a
    );
    let bad = NewDocument {
        embeddings: Some(vec![vec![1.0; 4], vec![1.0; 5]]),
        ..new(Uuid::new_v4(), &other)
    };
    assert!(
        index
            .add_documents(vec![new(Uuid::new_v4(), &first), bad])
            .is_err()
    );
    assert_eq!(index.len(), 2);
    assert!(index.search("alpine", 3, None).expect("search").is_empty());
}

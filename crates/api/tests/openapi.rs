//! The OpenAPI document: a snapshot of the contract (any change shows as a diff in
//! `tests/snapshots/`), served as generated, every documented operation routed, and the
//! documentation UI served from the binary.

use graduatorie_store::Backend;
use serde_json::Value;

use crate::support::{TestServer, client, on_both};

#[test]
fn the_contract_changes_only_with_a_reviewed_snapshot() {
    let document = serde_json::to_value(graduatorie_api::openapi::document()).unwrap();
    insta::assert_json_snapshot!("openapi", document);
}

/// Every path and method the document names, with ids that exist nowhere.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_some() {
                let concrete = path
                    .split('/')
                    .map(|part| if part.starts_with('{') { "987654" } else { part })
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((method.to_uppercase(), concrete));
            }
        }
    }
    out
}

on_both!(
    the_served_document_is_the_generated_one_and_every_operation_is_routed,
    |s: &TestServer| {
        let mut r = client().get(s.url("/api/v1/openapi.json")).call().unwrap();
        assert_eq!(r.status(), 200);
        let served: Value = r.body_mut().read_json().unwrap();
        let generated = serde_json::to_value(graduatorie_api::openapi::document()).unwrap();
        assert_eq!(served, generated);
        assert!(served["openapi"].as_str().unwrap().starts_with("3."));
        let ops = operations(&served);
        assert!(ops.len() >= 24, "{ops:?}");
        for (method, path) in ops {
            let request = ureq::http::Request::builder()
                .method(method.as_str())
                .uri(s.url(&path))
                .header("Content-Type", "application/json")
                .body("{}")
                .unwrap();
            let mut r = client().run(request).unwrap();
            let body: Value = r.body_mut().read_json().unwrap_or(Value::Null);
            // The fallback for unrouted addresses says "nothing at this address"; a routed
            // operation answers on its own terms (401, 404 for the id, 422…).
            assert_ne!(
                body["detail"], "Nessuna risorsa a questo indirizzo.",
                "{method} {path} is documented but not routed"
            );
            assert!(r.status().as_u16() < 500, "{method} {path}: {}", r.status());
        }
    }
);

#[test]
fn the_documentation_ui_is_served_from_the_binary() {
    let s = TestServer::start(Backend::Sqlite);
    let mut r = client().get(s.url("/api/v1/docs/")).call().unwrap();
    assert_eq!(r.status(), 200);
    let html = r.body_mut().read_to_string().unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let r = client()
        .get(s.url("/api/v1/docs/swagger-ui-bundle.js"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut r = client()
        .get(s.url("/api/v1/docs/swagger-initializer.js"))
        .call()
        .unwrap();
    let init = r.body_mut().read_to_string().unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    // The page asks nothing of third parties: no online validator badge.
    assert!(init.contains(r#""validatorUrl": "none""#), "{init}");
}

#[test]
fn operation_ids_are_unique_and_links_lead_to_them() {
    let document = serde_json::to_value(graduatorie_api::openapi::document()).unwrap();
    let mut ids = Vec::new();
    let mut targets = Vec::new();
    for item in document["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(!ids.contains(&id), "operationId {id} twice");
            ids.push(id);
            for response in op["responses"].as_object().unwrap().values() {
                if let Some(links) = response.get("links").and_then(Value::as_object) {
                    targets.extend(
                        links
                            .values()
                            .map(|l| l["operationId"].as_str().unwrap().to_owned()),
                    );
                }
            }
        }
    }
    assert!(targets.len() >= 11, "{targets:?}");
    for t in targets {
        assert!(ids.contains(&t), "a link leads to {t}, which no operation is");
    }
}

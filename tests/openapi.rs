//! `openapi.json` against the running server: every documented operation answers (not 404,
//! with its documented success status for the report endpoints), and every report route the
//! server has is documented.

mod common;

use common::{pdf, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn spec() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    serde_json::from_slice(&std::fs::read(path).expect("openapi.json")).expect("valid JSON")
}

/// The example of each path or query parameter of an operation.
fn examples(path_item: &Value, operation: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for parameters in [&path_item["parameters"], &operation["parameters"]] {
        for parameter in parameters.as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap().to_string();
            let place = parameter["in"].as_str().unwrap().to_string();
            let required = parameter["required"].as_bool().unwrap_or(false);
            match parameter.get("example").and_then(Value::as_str) {
                Some(example) => found.push((place, name, example.to_string())),
                None => assert!(!required, "required parameter {name} has no example"),
            }
        }
    }
    found
}

#[tokio::test]
async fn every_documented_operation_answers() {
    let server = TestServer::start().await;
    let (status, body) = server
        .put(&server.arbre_sec, "/PPMS.pdf", &pdf("openapi"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    let mut checked = 0;
    for (template, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if method.as_str() == "PARAMETERS" {
                continue;
            }
            let mut path = template.clone();
            let mut query = Vec::new();
            for (place, name, example) in examples(item, operation) {
                match place.as_str() {
                    "path" => path = path.replace(&format!("{{{name}}}"), &example),
                    "query" => query.push(format!("{name}={example}")),
                    _ => {}
                }
            }
            assert!(
                !path.contains('{'),
                "{template}: a path parameter has no example"
            );
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let response = server
                .client
                .request(method.clone(), format!("{}{path}", server.base))
                .basic_auth(&server.crisis.account, Some(&server.crisis.secret))
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
            let documented = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .any(|code| code == status.as_str());
            assert!(documented, "{method} {path}: {status} is not documented");
            checked += 1;
        }
    }
    assert!(checked >= ppms_depot::api::reports::ROUTES.len());
}

#[test]
fn every_report_route_is_documented() {
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    for route in ppms_depot::api::reports::ROUTES {
        let path = format!("{}{route}", ppms_depot::api::API_PREFIX);
        let operation = &paths
            .get(&path)
            .unwrap_or_else(|| panic!("{path} is not in openapi.json"))["get"];
        assert!(operation.is_object(), "{path}: GET is not documented");
        for status in ["200", "401", "403"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{path}: {status} is not documented"
            );
        }
        // The router sends the route here (parameters filled with a plausible value).
        let concrete = path
            .replace("{postal_code}", "75001")
            .replace("{rne}", "0752401C");
        assert!(
            ppms_depot::api::reports::is_report_path(&concrete),
            "{concrete}"
        );
    }
}

#[test]
fn the_documented_csv_columns_are_the_served_ones() {
    let spec = spec();
    let documented: Vec<&str> = spec["paths"]["/api/v1/coverage.csv"]["get"]["x-csv-columns"]
        .as_array()
        .expect("x-csv-columns")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(documented, ppms_depot::report::coverage::CSV_COLUMNS);
}

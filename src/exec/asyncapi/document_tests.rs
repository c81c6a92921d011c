//! Resolution of operations, channels and servers in 3.0 and 2.6 documents.

use super::*;

const V3: &str = r#"
asyncapi: 3.0.0
info: {title: sensors, version: 1.0.0}
defaultContentType: application/json
servers:
  edge:
    host: "{broker}:1883"
    protocol: mqtt
    variables:
      broker: {default: localhost}
  bus:
    host: localhost:4222
    protocol: nats
channels:
  readings:
    address: sensors/{sensorId}/temperature
    parameters:
      sensorId: {}
    servers:
      - $ref: '#/servers/edge'
    messages:
      reading: {$ref: '#/components/messages/reading'}
  alerts:
    address: alerts.{level}
    parameters:
      level: {default: high}
operations:
  receiveReading:
    action: receive
    channel: {$ref: '#/channels/readings'}
  sendAlert:
    action: send
    channel: {$ref: '#/channels/alerts'}
components:
  messages:
    reading:
      contentType: text/plain
"#;

const V2: &str = r#"
asyncapi: 2.6.0
info: {title: pets, version: 1.0.0}
servers:
  rabbit: {url: "amqp://localhost:5672", protocol: amqp}
  nats: {url: "localhost:{port}", protocol: nats, variables: {port: {default: "4222"}}}
channels:
  pets/found:
    publish:
      operationId: findPetsByStatus
      message: {contentType: application/json}
  pets/lost:
    subscribe:
      operationId: lostPets
"#;

fn document(text: &str) -> AsyncApiDocument {
    let location = Url::parse("file:///api.yaml").unwrap();
    AsyncApiDocument::parse(text, &location).unwrap()
}

fn choice(name: Option<&str>, protocol: Option<&str>) -> ServerChoice {
    ServerChoice {
        name: name.map(str::to_owned),
        variables: BTreeMap::new(),
        protocol: protocol.map(str::to_owned),
    }
}

#[test]
fn v3_operations_resolve_their_channel_server_and_content_type() {
    let doc = document(V3);
    assert_eq!(doc.version, Version::V3);
    let found = doc
        .resolve(Some("receiveReading"), None, &choice(None, None))
        .unwrap();
    assert_eq!(found.address, "sensors/{sensorId}/temperature");
    assert_eq!(found.open_parameters, ["sensorId"]);
    // The channel names its server; its variable takes its default.
    assert_eq!(
        (found.server_name.as_str(), found.url.as_str()),
        ("edge", "mqtt://localhost:1883")
    );
    assert_eq!(found.content_type, "text/plain");

    let alert = doc
        .resolve(Some("sendAlert"), None, &choice(None, Some("nats")))
        .unwrap();
    assert_eq!(alert.address, "alerts.high");
    assert_eq!(alert.url, "nats://localhost:4222");
    assert_eq!(alert.content_type, "application/json");
}

#[test]
fn named_servers_take_the_given_variables() {
    let doc = document(V3);
    let mut wanted = choice(Some("edge"), None);
    wanted
        .variables
        .insert("broker".into(), "mqtt.example".into());
    let found = doc.resolve(Some("sendAlert"), None, &wanted).unwrap();
    assert_eq!(found.url, "mqtt://mqtt.example:1883");
}

#[test]
fn unknown_names_suggest_the_close_ones() {
    let doc = document(V3);
    let error = doc
        .resolve(Some("receiveReadings"), None, &choice(None, None))
        .unwrap_err();
    assert!(
        error
            .detail
            .clone()
            .unwrap_or_default()
            .contains("did you mean `receiveReading`"),
        "{error:?}"
    );
    let error = doc
        .resolve(Some("sendAlert"), None, &choice(Some("edg"), None))
        .unwrap_err();
    assert!(
        error.detail.clone().unwrap_or_default().contains("`edge`"),
        "{error:?}"
    );
    let error = doc
        .resolve(Some("receiveReading"), None, &choice(None, Some("kafka")))
        .unwrap_err();
    assert!(
        error.detail.clone().unwrap_or_default().contains("kafka"),
        "{error:?}"
    );
}

#[test]
fn v2_channels_are_found_by_name_or_operation_id() {
    let doc = document(V2);
    assert_eq!(doc.version, Version::V2);
    let by_id = doc
        .resolve(Some("findPetsByStatus"), None, &choice(None, None))
        .unwrap();
    assert_eq!(by_id.address, "pets/found");
    assert_eq!(by_id.url, "amqp://localhost:5672");
    let by_channel = doc
        .resolve(
            Some("lostPets"),
            Some("pets/lost"),
            &choice(None, Some("nats")),
        )
        .unwrap();
    assert_eq!(by_channel.address, "pets/lost");
    assert_eq!(by_channel.url, "nats://localhost:4222");
    let wrong = doc
        .resolve(Some("lostPets"), Some("pets/lots"), &choice(None, None))
        .unwrap_err();
    assert!(
        wrong
            .detail
            .clone()
            .unwrap_or_default()
            .contains("pets/lost"),
        "{wrong:?}"
    );
}

#[test]
fn other_documents_are_refused() {
    let location = Url::parse("file:///api.yaml").unwrap();
    assert!(AsyncApiDocument::parse("openapi: 3.0.0\n", &location).is_err());
}

//! The tables the local stack and the tests create are the tables template.yaml deploys.

use cloudhub::schema::{Ttl, create_tables, local_client, tables_in_template, tables_named};
use cloudhub::testing::endpoint;

#[tokio::test]
async fn tables_created_locally_match_the_template() {
    let client = local_client(&endpoint());
    let tables = tables_named(&format!("s{}", ulid::Ulid::new().to_string().to_lowercase()));
    create_tables(&client, &tables, Ttl::AsTemplate).await.unwrap();

    let definitions = tables_in_template().unwrap();
    let logical_ids: Vec<&str> = definitions.iter().map(|d| d.logical_id.as_str()).collect();
    assert_eq!(logical_ids, ["DataTable", "SessionsTable"]);

    for definition in &definitions {
        let name = if definition.logical_id == "DataTable" {
            &tables.data
        } else {
            &tables.sessions
        };
        let described = client.describe_table().table_name(name).send().await.unwrap();
        let table = described.table().unwrap();
        let p = &definition.properties;

        let mut attributes: Vec<(String, String)> = table
            .attribute_definitions()
            .iter()
            .map(|a| (a.attribute_name().to_owned(), a.attribute_type().as_str().to_owned()))
            .collect();
        attributes.sort();
        let mut expected: Vec<(String, String)> = p
            .attribute_definitions
            .iter()
            .map(|a| (a.attribute_name.clone(), a.attribute_type.clone()))
            .collect();
        expected.sort();
        assert_eq!(attributes, expected, "{name}: attributes");

        let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
            schema
                .iter()
                .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
                .collect()
        };
        let template_keys = |schema: &[cloudhub::schema::Key]| -> Vec<(String, String)> {
            schema
                .iter()
                .map(|k| (k.attribute_name.clone(), k.key_type.clone()))
                .collect()
        };
        assert_eq!(
            keys(table.key_schema()),
            template_keys(&p.key_schema),
            "{name}: key schema"
        );

        let mut gsis: Vec<(String, Vec<(String, String)>)> = table
            .global_secondary_indexes()
            .iter()
            .map(|i| (i.index_name().unwrap().to_owned(), keys(i.key_schema())))
            .collect();
        let mut expected_gsis: Vec<(String, Vec<(String, String)>)> = p
            .global_secondary_indexes
            .iter()
            .map(|i| (i.index_name.clone(), template_keys(&i.key_schema)))
            .collect();
        // DynamoDB lists them in no particular order.
        gsis.sort();
        expected_gsis.sort();
        assert_eq!(gsis, expected_gsis, "{name}: global secondary indexes");

        let lsis: Vec<(String, Vec<(String, String)>)> = table
            .local_secondary_indexes()
            .iter()
            .map(|i| (i.index_name().unwrap().to_owned(), keys(i.key_schema())))
            .collect();
        let expected_lsis: Vec<(String, Vec<(String, String)>)> = p
            .local_secondary_indexes
            .iter()
            .map(|i| (i.index_name.clone(), template_keys(&i.key_schema)))
            .collect();
        assert_eq!(lsis, expected_lsis, "{name}: local secondary indexes");

        let stream = table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_owned());
        assert_eq!(
            stream,
            p.stream_specification.as_ref().map(|s| s.stream_view_type.clone()),
            "{name}: stream"
        );

        let ttl = client.describe_time_to_live().table_name(name).send().await.unwrap();
        let ttl_attribute = ttl
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            .map(str::to_owned);
        assert_eq!(
            ttl_attribute,
            p.time_to_live_specification.as_ref().map(|t| t.attribute_name.clone()),
            "{name}: TTL"
        );
    }
}

#[test]
fn the_template_declares_pay_per_request_recoverable_tables() {
    let template = cloudhub::schema::TEMPLATE;
    for definition in tables_in_template().unwrap() {
        assert_eq!(definition.properties.billing_mode, "PAY_PER_REQUEST");
    }
    assert_eq!(template.matches("PointInTimeRecoveryEnabled: true").count(), 2);
}

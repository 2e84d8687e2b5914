//! The tables as `template.yaml` defines them, created from that very definition wherever
//! CloudFormation does not create them: the local stack, the operator command against DynamoDB
//! Local, and the tests. One source of truth for keys, indexes, streams and TTL.

use crate::store::Tables;
use anyhow::{Context as _, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// The SAM template, compiled in so every binary and test reads the same definitions.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// A table resource of the template: its logical id and the properties that shape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// The logical id, e.g. `DataTable`.
    pub logical_id: String,
    /// The table's properties as written in the template.
    pub properties: TableProperties,
}

/// The CloudFormation properties of `AWS::DynamoDB::Table` that DynamoDB Local honours.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct TableProperties {
    pub billing_mode: String,
    pub attribute_definitions: Vec<Attribute>,
    pub key_schema: Vec<Key>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Index>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<Index>,
    pub stream_specification: Option<Stream>,
    pub time_to_live_specification: Option<TimeToLive>,
}

/// An attribute definition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct Attribute {
    pub attribute_name: String,
    pub attribute_type: String,
}

/// An element of a key schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct Key {
    pub attribute_name: String,
    pub key_type: String,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<Key>,
    pub projection: IndexProjection,
}

/// An index's projection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct IndexProjection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

/// A stream specification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct Stream {
    pub stream_view_type: String,
}

/// A TTL specification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    resources: std::collections::BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: serde_norway::Value,
}

/// The properties of every resource of the template of one `Type`, by logical id.
pub fn resources_of_type(kind: &str) -> anyhow::Result<Vec<(String, serde_norway::Value)>> {
    let template: Template = serde_norway::from_str(TEMPLATE).context("template.yaml is not a valid SAM template.")?;
    Ok(template
        .resources
        .into_iter()
        .filter(|(_, resource)| resource.kind == kind)
        .map(|(logical_id, resource)| (logical_id, resource.properties))
        .collect())
}

/// Every `AWS::DynamoDB::Table` of the template, by logical id.
pub fn tables_in_template() -> anyhow::Result<Vec<TableDefinition>> {
    resources_of_type("AWS::DynamoDB::Table")?
        .into_iter()
        .map(|(logical_id, properties)| {
            let properties = serde_norway::from_value(properties)
                .with_context(|| format!("The table {logical_id} in template.yaml has unexpected properties."))?;
            Ok(TableDefinition { logical_id, properties })
        })
        .collect()
}

fn keys(schema: &[Key]) -> anyhow::Result<Vec<KeySchemaElement>> {
    schema
        .iter()
        .map(|key| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(KeyType::from(key.key_type.as_str()))
                .build()?)
        })
        .collect()
}

fn projection(index: &Index) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(index.projection.projection_type.as_str()))
        .set_non_key_attributes(
            (!index.projection.non_key_attributes.is_empty()).then(|| index.projection.non_key_attributes.clone()),
        )
        .build()
}

/// Whether DynamoDB's TTL deletion is switched on for tables created here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// As deployed: expired items disappear.
    AsTemplate,
    /// Off. DynamoDB Local deletes expired items within seconds, unlike AWS, whose deletion
    /// lags by up to days; tests run without it so that "expired but still stored" is real.
    Disabled,
}

impl TableDefinition {
    /// Creates this table under `name`.
    pub async fn create(&self, client: &Client, name: &str, ttl: Ttl) -> anyhow::Result<()> {
        let p = &self.properties;
        if p.billing_mode != "PAY_PER_REQUEST" {
            bail!("The table {} must be PAY_PER_REQUEST.", self.logical_id);
        }
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(&p.key_schema)?));
        for attribute in &p.attribute_definitions {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&attribute.attribute_name)
                    .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                    .build()?,
            );
        }
        for index in &p.global_secondary_indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(keys(&index.key_schema)?))
                    .projection(projection(index))
                    .build()?,
            );
        }
        for index in &p.local_secondary_indexes {
            request = request.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(keys(&index.key_schema)?))
                    .projection(projection(index))
                    .build()?,
            );
        }
        if let Some(stream) = &p.stream_specification {
            request = request.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                    .build()?,
            );
        }
        request
            .send()
            .await
            .with_context(|| format!("Failed to create the table {name} ({}).", self.logical_id))?;
        if let (Some(spec), Ttl::AsTemplate) = (&p.time_to_live_specification, ttl) {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(&spec.attribute_name)
                        .enabled(spec.enabled)
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("Failed to switch on TTL for {name}."))?;
        }
        Ok(())
    }
}

/// The table names for a deployment whose tables are named `{prefix}-data` and `{prefix}-sessions`.
pub fn tables_named(prefix: &str) -> Tables {
    Tables {
        data: format!("{prefix}-data"),
        sessions: format!("{prefix}-sessions"),
    }
}

/// Creates every table of the template, named as `tables` says, skipping those that exist.
pub async fn create_tables(client: &Client, tables: &Tables, ttl: Ttl) -> anyhow::Result<()> {
    let existing = client.list_tables().send().await.context("Failed to list tables.")?;
    let existing = existing.table_names();
    for definition in tables_in_template()? {
        let name = match definition.logical_id.as_str() {
            "DataTable" => &tables.data,
            "SessionsTable" => &tables.sessions,
            other => bail!("template.yaml has a table {other} that the code does not know."),
        };
        if !existing.contains(name) {
            definition.create(client, name, ttl).await?;
        }
    }
    Ok(())
}

/// A DynamoDB client for a local endpoint (DynamoDB Local), with dummy credentials.
pub fn local_client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "dummy", "dummy", None, None, "local",
        ))
        .build();
    Client::from_conf(config)
}

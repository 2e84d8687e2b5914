//! Running CloudHub outside AWS: a local API Gateway that serves every route of `template.yaml`
//! with the functions' own handlers and the authorizer applied, the demo data, and the HTTP
//! server of the local stack.

pub mod delivery;
pub mod gateway;
pub mod link_keys;
pub mod mailbox;
pub mod routes;
pub mod seed;
pub mod server;

//! Running CloudHub outside AWS: a local API Gateway that serves every route of `template.yaml`
//! with the functions' own handlers and the authorizer applied, the demo data, and the HTTP
//! server of the local stack, with its CORS as the template configures it and the reference portal.

pub mod cors;
pub mod delivery;
pub mod gateway;
pub mod link_keys;
pub mod mailbox;
pub mod portal;
pub mod routes;
pub mod seed;
pub mod server;

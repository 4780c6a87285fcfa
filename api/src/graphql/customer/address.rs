//! The signed-in customer's address book.

use std::future::Future;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::address::{self, MAX_ADDRESSES};
use domain::session::Session;
use infra::customers::{AddressRejection, AddressView, AddressWritten, Defaults};
use uuid::Uuid;

use super::types::Address;
use crate::graphql::committed;
use crate::graphql::context::{commands, session};
use crate::graphql::errors::{ErrorCode, error};
use crate::graphql::global_id::{NodeKind, uuid_of};
use crate::graphql::user_error::{UserError, UserErrorCode};

/// A postal address, as a customer types it.
#[derive(InputObject)]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// An ISO 3166-1 alpha-2 code, such as `FR`.
    pub country: String,
    pub phone: Option<String>,
}

impl AddressInput {
    /// The checked address, or a user error for each bad field (named under `input`).
    pub fn parse(&self, input: &str) -> Result<address::Address, Vec<UserError>> {
        address::Address::parse(address::AddressInput {
            name: &self.name,
            line1: &self.line1,
            line2: self.line2.as_deref(),
            city: &self.city,
            postal_code: &self.postal_code,
            country: &self.country,
            phone: self.phone.as_deref(),
        })
        .map_err(|problems| UserError::from_problems(input, problems))
    }
}

#[derive(SimpleObject)]
pub struct AddressPayload {
    address: Option<Address>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct DeleteAddressPayload {
    deleted_id: Option<ID>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct AddressMutation;

#[Object]
impl AddressMutation {
    /// Adds an address to the book (at most 20). The first one becomes the default for shipping and
    /// billing; setting a default takes it from the address that had it.
    async fn create_address(
        &self,
        ctx: &Context<'_>,
        address: AddressInput,
        default_shipping: Option<bool>,
        default_billing: Option<bool>,
    ) -> Result<AddressPayload> {
        let customer = signed_in(ctx)?;
        let address = match address.parse("address") {
            Ok(address) => address,
            Err(user_errors) => return Ok(AddressPayload { address: None, user_errors }),
        };
        let defaults = Defaults { shipping: default_shipping, billing: default_billing };
        payload(ctx, commands(ctx).addresses.create(customer, address, defaults)).await
    }

    /// Replaces the fields of an address when `address` is given, and sets or clears its defaults.
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        address: Option<AddressInput>,
        default_shipping: Option<bool>,
        default_billing: Option<bool>,
    ) -> Result<AddressPayload> {
        let customer = signed_in(ctx)?;
        let id = uuid_of(&id, NodeKind::Address)?;
        let address = match address.as_ref().map(|a| a.parse("address")).transpose() {
            Ok(address) => address,
            Err(user_errors) => return Ok(AddressPayload { address: None, user_errors }),
        };
        let defaults = Defaults { shipping: default_shipping, billing: default_billing };
        payload(ctx, commands(ctx).addresses.update(customer, id, address, defaults)).await
    }

    async fn delete_address(&self, ctx: &Context<'_>, id: ID) -> Result<DeleteAddressPayload> {
        let customer = signed_in(ctx)?;
        let uuid = uuid_of(&id, NodeKind::Address)?;
        match committed(ctx, commands(ctx).addresses.delete(customer, uuid)).await? {
            Ok(()) => Ok(DeleteAddressPayload { deleted_id: Some(id), user_errors: vec![] }),
            Err(rejection) => {
                Ok(DeleteAddressPayload { deleted_id: None, user_errors: vec![rejected(rejection)] })
            }
        }
    }
}

/// The signed-in customer's id; guests have no address book.
fn signed_in(ctx: &Context<'_>) -> Result<Uuid> {
    session(ctx)?
        .and_then(Session::customer)
        .ok_or_else(|| error(ErrorCode::Unauthenticated, "sign in to manage your addresses"))
}

async fn payload(
    ctx: &Context<'_>,
    command: impl Future<Output = AddressWritten<AddressView>>,
) -> Result<AddressPayload> {
    match committed(ctx, command).await? {
        Ok(view) => Ok(AddressPayload { address: Some(Address::from(view)), user_errors: vec![] }),
        Err(rejection) => Ok(AddressPayload { address: None, user_errors: vec![rejected(rejection)] }),
    }
}

fn rejected(rejection: AddressRejection) -> UserError {
    match rejection {
        AddressRejection::Limit => UserError::new(
            None,
            UserErrorCode::AddressLimit,
            format!("an address book holds at most {MAX_ADDRESSES} addresses"),
        ),
        AddressRejection::Unknown => {
            UserError::new(Some("id"), UserErrorCode::UnknownAddress, "you have no address with this id")
        }
    }
}

//! Customers' address books, on the write path. Each write locks the customer's row, so that the cap
//! on addresses and the single default of each kind hold under concurrent writes, and touches the
//! customer's profile.

use std::sync::Arc;

use chrono::Utc;
use domain::address::{Address, MAX_ADDRESSES};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::read_models::AddressView;
use crate::db::DbRouter;
use crate::entities::{address, customer};
use crate::write_path::{Committed, Touch, WriteTx, refused};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRejection {
    /// The address book is full.
    Limit,
    /// No address with this id belongs to the customer.
    Unknown,
}

/// Which defaults to set or clear; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults {
    pub shipping: Option<bool>,
    pub billing: Option<bool>,
}

pub type AddressWritten<T> = Result<Committed<Result<T, AddressRejection>>, crate::Error>;

pub struct AddressBook {
    db: Arc<DbRouter>,
}

impl AddressBook {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    /// Adds `address`; the first address of a book becomes the default for shipping and billing.
    pub async fn create(
        &self,
        customer: Uuid,
        address: Address,
        defaults: Defaults,
    ) -> AddressWritten<AddressView> {
        let mut tx = WriteTx::begin(&self.db).await?;
        lock_customer(tx.conn(), customer).await?;
        let count =
            address::Entity::find().filter(address::Column::CustomerId.eq(customer)).count(tx.conn()).await?;
        if count >= MAX_ADDRESSES {
            return refused(AddressRejection::Limit);
        }
        let first = count == 0;
        let defaults = Defaults {
            shipping: Some(defaults.shipping.unwrap_or(first)),
            billing: Some(defaults.billing.unwrap_or(first)),
        };
        clear_replaced_defaults(tx.conn(), customer, defaults).await?;
        let model = address::ActiveModel {
            id: Set(Uuid::now_v7()),
            customer_id: Set(customer),
            is_default_shipping: Set(defaults.shipping == Some(true)),
            is_default_billing: Set(defaults.billing == Some(true)),
            created_at: Set(Utc::now().fixed_offset()),
            ..fields(address)
        };
        let created = model.insert(tx.conn()).await?;
        tx.touch(Touch::Profile(customer));
        tx.commit(Ok(created.into())).await
    }

    /// Replaces the fields of address `id` (when `address` is given) and sets or clears its defaults.
    pub async fn update(
        &self,
        customer: Uuid,
        id: Uuid,
        address: Option<Address>,
        defaults: Defaults,
    ) -> AddressWritten<AddressView> {
        let mut tx = WriteTx::begin(&self.db).await?;
        lock_customer(tx.conn(), customer).await?;
        let Some(current) = owned(tx.conn(), customer, id).await? else {
            return refused(AddressRejection::Unknown);
        };
        clear_replaced_defaults(tx.conn(), customer, defaults).await?;
        let mut model = match address {
            Some(address) => address::ActiveModel { id: Set(id), ..fields(address) },
            None => current.into_active_model(),
        };
        if let Some(shipping) = defaults.shipping {
            model.is_default_shipping = Set(shipping);
        }
        if let Some(billing) = defaults.billing {
            model.is_default_billing = Set(billing);
        }
        let updated = model.update(tx.conn()).await?;
        tx.touch(Touch::Profile(customer));
        tx.commit(Ok(updated.into())).await
    }

    pub async fn delete(&self, customer: Uuid, id: Uuid) -> AddressWritten<()> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let deleted = address::Entity::delete_many()
            .filter(address::Column::Id.eq(id))
            .filter(address::Column::CustomerId.eq(customer))
            .exec(tx.conn())
            .await?;
        if deleted.rows_affected == 0 {
            return refused(AddressRejection::Unknown);
        }
        tx.touch(Touch::Profile(customer));
        tx.commit(Ok(())).await
    }
}

/// The columns an `Address` sets.
fn fields(address: Address) -> address::ActiveModel {
    address::ActiveModel {
        name: Set(address.name),
        line1: Set(address.line1),
        line2: Set(address.line2),
        city: Set(address.city),
        postal_code: Set(address.postal_code),
        country: Set(address.country),
        phone: Set(address.phone),
        ..Default::default()
    }
}

async fn lock_customer(txn: &DatabaseTransaction, customer: Uuid) -> Result<(), crate::Error> {
    customer::Entity::find_by_id(customer).lock(LockType::Update).one(txn).await?;
    Ok(())
}

async fn owned(
    txn: &DatabaseTransaction,
    customer: Uuid,
    id: Uuid,
) -> Result<Option<address::Model>, crate::Error> {
    Ok(address::Entity::find_by_id(id).filter(address::Column::CustomerId.eq(customer)).one(txn).await?)
}

/// Takes the default of each kind that `defaults` gives to another address away from the current one.
async fn clear_replaced_defaults(
    txn: &DatabaseTransaction,
    customer: Uuid,
    defaults: Defaults,
) -> Result<(), crate::Error> {
    let kinds = [
        (defaults.shipping, address::Column::IsDefaultShipping),
        (defaults.billing, address::Column::IsDefaultBilling),
    ];
    for (_, column) in kinds.into_iter().filter(|(set, _)| *set == Some(true)) {
        address::Entity::update_many()
            .col_expr(column, Expr::value(false))
            .filter(address::Column::CustomerId.eq(customer))
            .filter(column.eq(true))
            .exec(txn)
            .await?;
    }
    Ok(())
}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: i64,
    pub customer_id: Option<Uuid>,
    pub email: String,
    pub status: Status,
    pub currency: String,
    pub subtotal_minor: i64,
    pub total_minor: i64,
    pub shipping_address: Json,
    /// The provider's reference of the order's payment: known once it was opened.
    pub payment_reference: Option<String>,
    pub checkout_owner: String,
    pub idempotency_key: String,
    pub cart_fingerprint: String,
    pub access_token: String,
    pub payment_due_by: Option<DateTimeWithTimeZone>,
    pub payment_failure: Option<String>,
    /// The method it ships with (none for orders from before shipping was charged), a copy of its
    /// name, and its price for this order.
    pub shipping_method_id: Option<Uuid>,
    pub shipping_method: Option<String>,
    pub shipping_minor: i64,
    pub shipping_vat_basis_points: i32,
    pub shipping_vat_minor: i64,
    /// The VAT in the total: the lines' and shipping's.
    pub vat_minor: i64,
    /// The discount code redeemed (and a copy of it), and what it took off.
    pub discount_code_id: Option<Uuid>,
    pub discount_code: Option<String>,
    pub discount_minor: i64,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

/// pending payment → placed or payment failed; placed → paid → fulfilled, or cancelled (the database
/// type `order_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "order_status")]
pub enum Status {
    #[sea_orm(string_value = "pending_payment")]
    PendingPayment,
    #[sea_orm(string_value = "payment_failed")]
    PaymentFailed,
    #[sea_orm(string_value = "placed")]
    Placed,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "fulfilled")]
    Fulfilled,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl From<Status> for domain::order::OrderStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::PendingPayment => Self::PendingPayment,
            Status::PaymentFailed => Self::PaymentFailed,
            Status::Placed => Self::Placed,
            Status::Paid => Self::Paid,
            Status::Fulfilled => Self::Fulfilled,
            Status::Cancelled => Self::Cancelled,
        }
    }
}

impl From<domain::order::OrderStatus> for Status {
    fn from(status: domain::order::OrderStatus) -> Self {
        use domain::order::OrderStatus as S;
        match status {
            S::PendingPayment => Self::PendingPayment,
            S::PaymentFailed => Self::PaymentFailed,
            S::Placed => Self::Placed,
            S::Paid => Self::Paid,
            S::Fulfilled => Self::Fulfilled,
            S::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: Uuid,
    pub kind: Kind,
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub pending_until: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
}

/// What happened to an order's money (the database type `payment_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "payment_kind")]
pub enum Kind {
    #[sea_orm(string_value = "authorization")]
    Authorization,
    #[sea_orm(string_value = "capture")]
    Capture,
    #[sea_orm(string_value = "void")]
    Void,
    #[sea_orm(string_value = "refund")]
    Refund,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub variant_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub size: String,
    pub colour: String,
    pub unit_price_minor: i64,
    pub quantity: i32,
    /// The destination's VAT rate, and the VAT in the line's total.
    pub vat_basis_points: i32,
    pub vat_minor: i64,
    /// The line's share of the order's discount.
    pub discount_minor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

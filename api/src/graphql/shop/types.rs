use async_graphql::Object;

pub struct Shop(pub domain::shop::Shop);

#[Object]
impl Shop {
    async fn name(&self) -> &str {
        self.0.name.as_str()
    }

    /// ISO 4217 code of the currency every price in the shop is in.
    async fn currency(&self) -> &str {
        self.0.currency.as_str()
    }
}

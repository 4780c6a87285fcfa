// GraphiQL on this server's /graphql, with the browser's session cookie and an example to run.
const EXAMPLE = `# The MyClothes API. Run this with ▶ or Ctrl-Enter;
# the Docs button (top left) lists every type and field.

query NewArrivals {
  shop {
    name
    currency
  }
  products(first: 5, filter: { inStock: true }) {
    totalCount
    nodes {
      name
      slug
      priceFrom {
        amount
        currencyCode
      }
    }
  }
}
`;

const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery: EXAMPLE, defaultEditorToolsVisibility: false }),
);

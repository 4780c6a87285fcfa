// The only way the storefront talks to the server: GraphQL over POST to /graphql on the same origin.
// The session lives in the HttpOnly cookie the server sets; no token is ever kept in JavaScript.

/** The call failed as a whole: the server is unreachable, refused the request, or reported an error. */
export class RequestFailed extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new RequestFailed("The shop cannot be reached. Check your connection and try again.", "NETWORK");
  }
  const body = await response.json().catch(() => null);
  if (body?.errors?.length) {
    const [first] = body.errors;
    throw new RequestFailed(first.message, first.extensions?.code ?? "ERROR");
  }
  if (!response.ok || !body?.data) {
    throw new RequestFailed(`The shop answered ${response.status}. Try again in a moment.`, "HTTP");
  }
  return body.data;
}

/** A user error's message, or the messages of all of them (mutations report problems in `userErrors`). */
export function userErrorMessages(payload) {
  return (payload.userErrors ?? []).map((error) => error.message);
}

// Signing in and up, a forgotten password and the confirmation of an email address (the pages the
// mailed links open), the address book, the order history, and an order's page.
import { graphql, userErrorMessages } from "./api.js";
import { h, show, formValues, errorList, money } from "./dom.js";
import { state, refresh, MONEY } from "./state.js";
import { addressFields, addressInput, addressLines, ADDRESS_FIELDS } from "./address.js";

export const ORDER_FIELDS = `
  number status email createdAt
  subtotal { ${MONEY} }
  shippingMethod shippingPrice { ${MONEY} }
  discountCode discount { ${MONEY} }
  total { ${MONEY} }
  vatIncluded { ${MONEY} }
  shippingAddress { ${ADDRESS_FIELDS} }
  lines { productName sku size colour quantity unitPrice { ${MONEY} } lineTotal { ${MONEY} } }
  payments { kind amount { ${MONEY} } pending createdAt }`;

/** What each movement of an order's money is called on its page. */
const PAYMENT_KINDS = { AUTHORIZATION: "Authorised", CAPTURE: "Charged", VOID: "Released", REFUND: "Refunded" };

export async function accountView() {
  return state.me ? profileView() : signInView();
}

/** A form that runs `submit(values)`, shows the messages it returns, and stays put on problems. */
function form(title, fields, buttonText, submit) {
  const errors = h("div");
  return h("form", {
    class: "panel", "aria-label": title,
    onSubmit: async (event) => {
      event.preventDefault();
      const button = event.target.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        show(errors, errorList(await submit(formValues(event.target), event.target)));
      } catch (error) {
        show(errors, errorList([error.message]));
      } finally {
        button.disabled = false;
      }
    },
  }, h("h2", {}, title), fields, errors, h("button", { type: "submit", class: "primary" }, buttonText));
}

const field = (name, label, attributes = {}) => h("label", {}, label, h("input", { name, required: true, ...attributes }));

/** Signing in or up starts a new session whose cookie replaces the guest's; the guest bag is merged in. */
async function signIn(mutation, input) {
  const data = await graphql(`mutation SignIn($input: ${mutation.input}!) { result: ${mutation.name}(input: $input) { customer { name } userErrors { message } } }`, { input });
  const problems = userErrorMessages(data.result);
  if (problems.length === 0) {
    await refresh();
    // The forms are on the account page: show it again, now signed in.
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }
  return problems;
}

function signInView() {
  return h("div", { class: "columns" },
    form("Log in", [
      field("email", "Email", { type: "email", autocomplete: "username" }),
      field("password", "Password", { type: "password", autocomplete: "current-password" }),
      h("p", {}, h("a", { href: "#/forgot-password" }, "Forgot your password?")),
    ], "Log in", (values) => signIn({ name: "login", input: "LoginInput" }, values)),
    form("Create an account", [
      field("name", "Name", { autocomplete: "name" }),
      field("email", "Email", { type: "email", autocomplete: "email" }),
      field("password", "Password (at least 10 characters)", { type: "password", autocomplete: "new-password" }),
    ], "Create account", (values) => signIn({ name: "register", input: "RegisterInput" }, values)),
  );
}

/** Asks for a reset link; the answer is the same whether the email has an account or not. */
export function forgotPasswordView() {
  const sent = h("div", { role: "status" });
  return h("div", {},
    form("Reset your password", [
      h("p", {}, "Type the email of your account: we will send it a link to choose a new password."),
      field("email", "Email", { type: "email", autocomplete: "username" }),
    ], "Send the link", async (values) => {
      const { requestPasswordReset } = await graphql(`mutation RequestPasswordReset($email: String!) {
        requestPasswordReset(email: $email) { accepted userErrors { message } } }`, { email: values.email });
      show(sent, requestPasswordReset.accepted && h("p", { class: "panel" },
        `If an account uses ${values.email}, a link to choose a new password is on its way to it. The link works for an hour.`));
      return userErrorMessages(requestPasswordReset);
    }),
    sent,
  );
}

/** The page of a mailed reset link: a new password, after which every session of the account has ended. */
export function resetPasswordView(token) {
  return form("Choose a new password", [
    field("password", "New password (at least 10 characters)", { type: "password", autocomplete: "new-password" }),
  ], "Set the password", async (values, element) => {
    const { resetPassword } = await graphql(`mutation ResetPassword($input: ResetPasswordInput!) {
      resetPassword(input: $input) { passwordReset userErrors { message } } }`, { input: { token, newPassword: values.password } });
    if (resetPassword.passwordReset) {
      // This browser's session, if it had one of the account, has ended with the others.
      await refresh();
      element.replaceWith(done("Your password is changed",
        "Every session of your account has ended, on every device.",
        h("a", { href: "#/account" }, "Log in with your new password")));
    }
    return userErrorMessages(resetPassword);
  });
}

/** The page of a mailed verification link: one click confirms the address (no request confirms it by merely opening the page). */
export function verifyEmailView(token) {
  return form("Confirm your email address", [], "Confirm my email address", async (_, element) => {
    const { verifyEmail } = await graphql(`mutation VerifyEmail($token: String!) {
      verifyEmail(token: $token) { verified userErrors { message } } }`, { token });
    if (verifyEmail.verified) {
      element.replaceWith(done("Your email address is confirmed", "Thank you.", h("a", { href: "#/shop" }, "Back to the shop")));
    }
    return userErrorMessages(verifyEmail);
  });
}

function done(title, text, next) {
  return h("section", { class: "panel", role: "status" }, h("h2", {}, title), h("p", {}, text), next);
}

/** Until the address is confirmed, a reminder with a button that mails the link again. */
function verificationReminder() {
  const reminder = h("div", { class: "verification" });
  const send = async (event) => {
    event.target.disabled = true;
    try {
      const { resendVerificationEmail: sent } = await graphql(`mutation ResendVerification {
        resendVerificationEmail { sent userErrors { message } } }`);
      show(reminder, sent.sent ? h("p", { role: "status" }, "A new link is on its way to your mailbox.") : errorList(userErrorMessages(sent)));
    } finally {
      event.target.disabled = false;
    }
  };
  show(reminder,
    h("p", {}, "Your email address is not confirmed yet: follow the link we mailed to it."),
    h("button", { type: "button", onClick: send }, "Send the link again"));
  return reminder;
}

const ADDRESS_BOOK = `addresses { id ${ADDRESS_FIELDS} isDefaultShipping isDefaultBilling }`;

async function profileView() {
  const { me, orders } = await graphql(`query Account { me { name email emailVerified ${ADDRESS_BOOK} } orders(first: 20) { nodes { number status createdAt total { ${MONEY} } } } }`);
  if (!me) {
    await refresh();
    return signInView();
  }
  const book = h("ul", { class: "addresses" });
  const renderBook = (addresses) => show(book, addresses.length ? addresses.map((address) => addressCard(address, renderBook)) : [h("li", {}, "No saved addresses yet.")]);
  renderBook(me.addresses);
  return h("div", { class: "account" },
    h("section", { class: "panel" },
      h("h1", {}, me.name),
      h("p", {}, me.email),
      !me.emailVerified && verificationReminder(),
      h("button", { type: "button", onClick: logout }, "Log out"),
    ),
    h("section", { class: "panel", "aria-label": "Order history" }, h("h2", {}, "Your orders"), orderList(orders.nodes)),
    h("section", { class: "panel", "aria-label": "Address book" }, h("h2", {}, "Address book"), book),
    form("Add an address", [addressFields()], "Save address", async (values, element) => {
      const data = await graphql(`mutation AddAddress($address: AddressInput!) { createAddress(address: $address) { address { id } userErrors { message } } }`, { address: addressInput(values) });
      const problems = userErrorMessages(data.createAddress);
      if (problems.length === 0) {
        element.reset();
        renderBook(await addressBook());
      }
      return problems;
    }),
  );
}

async function addressBook() {
  return (await graphql(`query AddressBook { me { ${ADDRESS_BOOK} } }`)).me.addresses;
}

function addressCard(address, renderBook) {
  const defaults = [address.isDefaultShipping && "default shipping", address.isDefaultBilling && "default billing"].filter(Boolean);
  return h("li", { class: "address-card" },
    addressLines(address),
    defaults.length ? h("p", { class: "muted" }, defaults.join(", ")) : null,
    h("button", {
      type: "button", class: "link",
      onClick: async () => {
        await graphql(`mutation DeleteAddress($id: ID!) { deleteAddress(id: $id) { deletedId } }`, { id: address.id });
        renderBook(await addressBook());
      },
    }, "Delete"),
  );
}

function orderList(orders) {
  if (orders.length === 0) return h("p", {}, "No orders yet.");
  return h("ul", { class: "orders" }, orders.map((order) =>
    h("li", {},
      h("a", { href: `#/order/${order.number}` }, order.number),
      ` · ${new Date(order.createdAt).toLocaleDateString()} · ${statusText(order.status)} · ${money(order.total)}`,
    ),
  ));
}

async function logout() {
  await graphql(`mutation Logout { logout { loggedOut } }`);
  await refresh();
  location.hash = "#/shop";
}

const statusText = (status) => status.charAt(0) + status.slice(1).toLowerCase().replaceAll("_", " ");

/**
 * An order's page: the one just placed, one opened with its access key (the link of the checkout and
 * of the confirmation mail), the customer's own, or a guest's found with its email.
 */
export async function orderView(number, key) {
  let order = state.lastOrder?.number === number ? state.lastOrder : null;
  if (!order && key) order = await findOrder(number, { accessToken: key });
  if (!order && state.me) order = await findOrder(number);
  if (order) return orderDetails(order, key);
  const result = h("div");
  return h("div", {},
    form(`Find order ${number}`, [field("email", "The email the order was placed with", { type: "email" })], "Find my order", async (values) => {
      const found = await findOrder(number, { email: values.email });
      show(result, found && orderDetails(found));
      return found ? [] : ["No order with this number was placed with that email."];
    }),
    result,
  );
}

/** The order `number`: the signed-in customer's, or anyone's given its access token or its email. */
async function findOrder(number, { email, accessToken } = {}) {
  const query = `query Order($number: String!, $email: String, $accessToken: String) {
    order(number: $number, email: $email, accessToken: $accessToken) { ${ORDER_FIELDS} } }`;
  return (await graphql(query, { number, email, accessToken })).order;
}

/** Orders in these states have not shipped: their customer, or the holder of their key, may cancel them. */
const CANCELLABLE = ["PLACED", "PAID"];

function orderDetails(order, key) {
  const mayCancel = CANCELLABLE.includes(order.status) && (key || state.me);
  const section = h("section", { class: "panel order", "aria-label": `Order ${order.number}` },
    h("h1", {}, `Order ${order.number}`),
    key && h("p", { class: "order-link" }, "Bookmark this page to come back to your order: anyone with its address can see it, so keep it to yourself."),
    h("p", {}, `${statusText(order.status)} · placed ${new Date(order.createdAt).toLocaleString()} · confirmation to ${order.email}`),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Item", "Qty", "Price", "Total"].map((title) => h("th", {}, title)))),
      h("tbody", {}, order.lines.map((line) => h("tr", {},
        h("td", {}, `${line.productName}, ${line.colour}, ${line.size}`),
        h("td", {}, String(line.quantity)),
        h("td", {}, money(line.unitPrice)),
        h("td", {}, money(line.lineTotal)),
      ))),
    ),
    totals(order),
    h("h2", {}, "Shipping to"),
    addressLines(order.shippingAddress),
    order.payments.length > 0 && paymentList(order.payments),
    mayCancel && cancelControl(order, key, (cancelled) => {
      if (state.lastOrder?.number === cancelled.number) state.lastOrder = cancelled;
      section.replaceWith(orderDetails(cancelled, key));
    }),
  );
  return section;
}

/** What the order cost: its lines, shipping, the total, and the VAT in it. */
function totals(order) {
  const shipping = order.shippingMethod ? `Shipping (${order.shippingMethod})` : "Shipping";
  return h("dl", { class: "totals", "aria-label": "Totals" },
    [
      ["Subtotal", money(order.subtotal)],
      [shipping, money(order.shippingPrice)],
      order.discountCode && [`Discount (${order.discountCode})`, `−${money(order.discount)}`],
      ["Total", h("strong", {}, money(order.total))],
      ["Including VAT", money(order.vatIncluded)],
    ].filter(Boolean).flatMap(([term, amount]) => [h("dt", {}, term), h("dd", {}, amount)]),
  );
}

/** What happened to the order's money, in that order. */
function paymentList(payments) {
  return h("section", { "aria-label": "Payment" },
    h("h2", {}, "Payment"),
    h("ul", { class: "payments" }, payments.map((payment) => h("li", {},
      `${PAYMENT_KINDS[payment.kind]} ${money(payment.amount)}${payment.pending ? " (on its way)" : ""}`,
      ` · ${new Date(payment.createdAt).toLocaleString()}`,
    ))),
  );
}

/** A button that cancels `order` (with its access `key` when given) and hands the cancelled order on. */
function cancelControl(order, key, cancelled) {
  const errors = h("div");
  const cancel = async (event) => {
    event.target.disabled = true;
    try {
      const { cancelOrder } = await graphql(`mutation CancelOrder($number: String!, $accessToken: String) {
        cancelOrder(number: $number, accessToken: $accessToken) { order { ${ORDER_FIELDS} } userErrors { code message } } }`,
      { number: order.number, accessToken: key });
      if (cancelOrder.order) cancelled(cancelOrder.order);
      else show(errors, errorList(userErrorMessages(cancelOrder)));
    } catch (error) {
      show(errors, errorList([error.message]));
    } finally {
      event.target.disabled = false;
    }
  };
  return h("div", { class: "cancel-order" },
    h("p", {}, "Changed your mind? The order has not shipped yet: cancelling it releases the payment."),
    h("button", { type: "button", onClick: cancel }, "Cancel this order"),
    errors);
}

"""The payment providers of the simulator (providers.md 8 and 12): Stripe's
Checkout Sessions API and Lemon Squeezy's checkouts API, and their signed
webhooks. A test "pays" a checkout it had the gateway create; the simulator
then sends the events the provider would, signed: Stripe's by Stripe's own
library (tests/payments/stripe_sign.mjs), Lemon Squeezy's with its
documented hex HMAC of the body.

    POST /v1/checkout/sessions   Stripe (form-encoded, Bearer key)
    POST /v1/checkouts           Lemon Squeezy (JSON:API, Bearer key)
    POST /_sim/pay/config        {"stripe_key", "stripe_webhook", "stripe_secret",
                                  "ls_key", "ls_webhook", "ls_secret", "ls_store"}
    POST /_sim/pay/pay           {"id": checkout id} -> {"events": [{"type", "status", "body", "headers"}]}
    POST /_sim/pay/refund        {"id": checkout id} -> the same, for the refund event
    GET  /_sim/pay/checkouts     what was created, with the request as received
"""
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
STRIPE_SIGN = os.path.join(os.path.dirname(HERE), "payments", "stripe_sign.mjs")
LOCK = threading.Lock()
CONFIG = {}
CHECKOUTS = {}


def stripe_signature(payload, secret, stamp=None):
    """The Stripe-Signature header of payload (bytes), made by stripe.webhooks.generateTestHeaderString."""
    args = ["node", STRIPE_SIGN, secret] + ([str(int(stamp))] if stamp is not None else [])
    out = subprocess.run(args, input=payload, capture_output=True, check=True, timeout=60)
    return out.stdout.decode().strip()


def ls_signature(payload, secret):
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def deliver(url, payload, headers):
    """POSTs payload to url; (status, body text)."""
    req = urllib.request.Request(url, data=payload, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def send_stripe(event):
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": stripe_signature(payload, CONFIG["stripe_secret"])}
    status, body = deliver(CONFIG["stripe_webhook"], payload, headers)
    return {"type": event["type"], "status": status, "answer": body, "body": event, "headers": headers}


def send_ls(event):
    payload = json.dumps(event).encode()
    headers = {"X-Event-Name": event["meta"]["event_name"],
               "X-Signature": ls_signature(payload, CONFIG["ls_secret"])}
    status, body = deliver(CONFIG["ls_webhook"], payload, headers)
    return {"type": event["meta"]["event_name"], "status": status, "answer": body, "body": event,
            "headers": headers}


def authorized(h, key):
    want = CONFIG.get(key)
    return not want or h.headers.get("Authorization") == f"Bearer {want}"


# ---- checkout creation ----

def stripe_create(h, raw):
    if not authorized(h, "stripe_key"):
        return h.send(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
    form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
    mode, price = form.get("mode"), form.get("line_items[0][price]")
    missing = [k for k in ("mode", "line_items[0][price]", "success_url") if not form.get(k)]
    if missing or mode not in ("payment", "subscription"):
        return h.send(400, {"error": {"type": "invalid_request_error", "param": (missing or ["mode"])[0],
                                      "message": f"Missing or invalid parameter: {(missing or ['mode'])[0]}"}})
    sid = "cs_test_" + uuid.uuid4().hex[:24]
    meta = {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}
    session = {"id": sid, "object": "checkout.session", "mode": mode, "status": "open",
               "url": f"https://checkout.stripe.com/c/pay/{sid}", "client_reference_id": form.get("client_reference_id"),
               "metadata": meta, "customer": None, "subscription": None, "payment_status": "unpaid",
               "expires_at": int(time.time()) + 86400, "success_url": form["success_url"],
               "cancel_url": form.get("cancel_url")}
    with LOCK:
        CHECKOUTS[sid] = {"provider": "stripe", "form": form, "session": session, "price": price}
    h.send(200, session)


def ls_create(h, raw):
    if not authorized(h, "ls_key"):
        return h.send(401, {"errors": [{"status": "401", "title": "Unauthenticated", "detail": "bad API key"}]})
    try:
        data = json.loads(raw)["data"]
        variant = data["relationships"]["variant"]["data"]["id"]
        store = data["relationships"]["store"]["data"]["id"]
        assert data["type"] == "checkouts"
    except (ValueError, KeyError, TypeError, AssertionError):
        return h.send(422, {"errors": [{"status": "422", "title": "Unprocessable Entity",
                                        "detail": "data.type checkouts with store and variant relationships"}]})
    cid = str(uuid.uuid4())
    attrs = data.get("attributes") or {}
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    checkout = {"type": "checkouts", "id": cid,
                "attributes": {"store_id": int(store), "variant_id": int(variant), "custom_price": None,
                               "product_options": attrs.get("product_options") or {},
                               "checkout_options": attrs.get("checkout_options") or {},
                               "checkout_data": attrs.get("checkout_data") or {}, "expires_at": None,
                               "created_at": now, "updated_at": now, "test_mode": True,
                               "url": f"https://reel.lemonsqueezy.com/checkout/custom/{cid}?signature="
                                      + uuid.uuid4().hex}}
    with LOCK:
        CHECKOUTS[cid] = {"provider": "lemonsqueezy", "body": json.loads(raw), "checkout": checkout,
                          "variant": variant}
    h.send(201, {"jsonapi": {"version": "1.0"}, "links": {"self": f"https://api.lemonsqueezy.com/v1/checkouts/{cid}"},
                 "data": checkout})


# ---- paying: the events each provider sends ----

def stripe_event(etype, obj, created=None):
    return {"id": "evt_" + uuid.uuid4().hex[:24], "object": "event", "api_version": "2026-06-24.dahlia",
            "created": created or int(time.time()), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": etype, "data": {"object": obj}}


def stripe_pay(c):
    s = dict(c["session"], status="complete", payment_status="paid")
    meta = c["session"]["metadata"]
    owner = c["session"]["client_reference_id"]
    if s["mode"] == "payment":
        s["payment_intent"] = c["payment_intent"] = "pi_" + uuid.uuid4().hex[:24]
        return [send_stripe(stripe_event("checkout.session.completed", s))]
    sub = c["subscription"] = s["subscription"] = "sub_" + uuid.uuid4().hex[:24]
    now = int(time.time())
    end = now + 30 * 86400
    sub_meta = {k[len("subscription_data[metadata]["):-1]: v for k, v in c["form"].items()
                if k.startswith("subscription_data[metadata][")}
    subscription = {"id": sub, "object": "subscription", "status": "active", "metadata": sub_meta,
                    "cancel_at_period_end": False, "cancel_at": None,
                    "items": {"object": "list", "data": [{"price": {"id": c["price"]}, "current_period_start": now,
                                                          "current_period_end": end}]}}
    invoice = {"id": "in_" + uuid.uuid4().hex[:24], "object": "invoice", "status": "paid",
               "billing_reason": "subscription_create", "metadata": {},
               "parent": {"type": "subscription_details",
                          "subscription_details": {"subscription": sub, "metadata": sub_meta}},
               "lines": {"object": "list", "data": [{"period": {"start": now, "end": end},
                                                     "pricing": {"price_details": {"price": c["price"]}}}]}}
    assert owner == meta.get("reel_owner")
    return [send_stripe(stripe_event("checkout.session.completed", s, now)),
            send_stripe(stripe_event("customer.subscription.created", subscription, now)),
            send_stripe(stripe_event("invoice.paid", invoice, now))]


def ls_event(name, c, dtype, did, attrs):
    custom = c["body"]["data"].get("attributes", {}).get("checkout_data", {}).get("custom")
    return {"meta": {"event_name": name, "custom_data": custom, "test_mode": True, "webhook_id": "wh_sim"},
            "data": {"type": dtype, "id": str(did), "attributes": attrs}}


def ls_now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def ls_pay(c):
    order = c["order"] = int(time.time() * 1000) % 10**9
    variant = int(c["variant"])
    attrs = {"status": "paid", "total": 1199, "currency": "USD", "created_at": ls_now(), "updated_at": ls_now(),
             "first_order_item": {"order_id": order, "variant_id": variant}}
    events = [send_ls(ls_event("order_created", c, "orders", order, attrs))]
    if c.get("plan"):
        sub = c["subscription"] = order + 1
        renews = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + 30 * 86400))
        sattrs = {"status": "active", "variant_id": variant, "order_id": order, "renews_at": renews,
                  "ends_at": None, "created_at": ls_now(), "updated_at": ls_now()}
        events.append(send_ls(ls_event("subscription_created", c, "subscriptions", sub, sattrs)))
        iattrs = {"subscription_id": sub, "status": "paid", "billing_reason": "initial", "total": 1199,
                  "created_at": ls_now(), "updated_at": ls_now()}
        events.append(send_ls(ls_event("subscription_payment_success", c, "subscription-invoices", order + 2,
                                       iattrs)))
    return events


def refund(c):
    if c["provider"] == "stripe":
        charge = {"id": "ch_" + uuid.uuid4().hex[:24], "object": "charge", "amount": 1199, "amount_refunded": 1199,
                  "refunded": True, "payment_intent": c.get("payment_intent"), "metadata": {}}
        return [send_stripe(stripe_event("charge.refunded", charge))]
    attrs = {"status": "refunded", "total": 1199, "refunded_amount": 1199, "refunded": True,
             "updated_at": ls_now(), "first_order_item": {"order_id": c["order"], "variant_id": int(c["variant"])}}
    return [send_ls(ls_event("order_refunded", c, "orders", c["order"], attrs))]


def control(h, path, raw):
    msg = json.loads(raw or b"{}")
    if path == "/_sim/pay/config":
        CONFIG.update(msg)
        return h.send(200, {"ok": True})
    with LOCK:
        c = CHECKOUTS.get(msg.get("id"))
    if not c:
        return h.send(404, {"error": "no such checkout"})
    if path == "/_sim/pay/pay":
        c["plan"] = msg.get("plan", False)
        events = stripe_pay(c) if c["provider"] == "stripe" else ls_pay(c)
    elif path == "/_sim/pay/refund":
        events = refund(c)
    else:
        return h.send(404, {"error": "no such control route"})
    h.send(200, {"events": events})


def handle(h, method, raw=b""):
    path = h.path.split("?")[0]
    if method == "GET" and path == "/_sim/pay/checkouts":
        with LOCK:
            h.send(200, {"checkouts": list(CHECKOUTS.values())})
    elif method != "POST":
        return False
    elif path == "/v1/checkout/sessions":
        stripe_create(h, raw)
    elif path == "/v1/checkouts":
        ls_create(h, raw)
    elif path.startswith("/_sim/pay/"):
        control(h, path, raw)
    else:
        return False
    return True

// The reference's flows, as a front end built on openapi-typescript's types and openapi-fetch
// makes them. `tsc --strict` must accept every call and every use of an answer; node then runs
// them against the fake at FAKE_URL, which takes only FAKE_API_KEY
// (tests/clients/test_typescript_client.py).
import assert from "node:assert/strict";

import createClient from "openapi-fetch";

import type { components, paths } from "./api.js";

type Connector = components["schemas"]["Connector"];
type CreateS3 = components["schemas"]["CreateS3Connector"];
type ErrorCode = components["schemas"]["ErrorCode"];
type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];
type SyncJob = components["schemas"]["SyncJob"];

const baseUrl = process.env.FAKE_URL ?? "http://127.0.0.1:8080";
const apiKey = process.env.FAKE_API_KEY ?? "my-key";
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

const s3Example: CreateS3 = {
  name: "Document Storage",
  type: "s3",
  collection: "col_abc123",
  config: { bucket: "my-documents", region: "us-east-1", prefix: "/documents/" },
  credentials: { accessKeyId: "AKIA...", secretAccessKey: "..." },
};

function s3(connector: Connector | undefined): Extract<Connector, { type: "s3" }> {
  assert.ok(connector, "no connector in the answer");
  assert.equal(connector.type, "s3");
  return connector;
}

function refused(error: ErrorEnvelope | undefined, code: ErrorCode): ErrorEnvelope {
  assert.ok(error, `expected ${code}, got a success`);
  assert.equal(error.error.code, code, error.error.message);
  return error;
}

// The fake's own controls (`/_mock`), which no client generated from openapi.yaml knows.
async function advanceClock(seconds: number): Promise<void> {
  const moved = await fetch(`${baseUrl}/_mock/clock/advance`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  assert.equal(moved.status, 200);
}

async function approveConsent(authUrl: string): Promise<{ code: string; state: string }> {
  const page = await fetch(authUrl);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /value="approve"/);
  const state = new URL(authUrl).searchParams.get("state") ?? "";
  const answer = await fetch(authUrl.split("?")[0] ?? authUrl, {
    method: "POST",
    body: new URLSearchParams({ state, decision: "approve" }),
    redirect: "manual",
  });
  assert.equal(answer.status, 303);
  const returned = new URL(answer.headers.get("location") ?? "").searchParams;
  return { code: returned.get("code") ?? "", state: returned.get("state") ?? "" };
}

const listed = await api.GET("/v1/connectors");
const confluence = listed.data?.data.find((c) => c.id === "conn_abc123");
assert.ok(confluence?.type === "confluence");
assert.equal(confluence.config.instanceUrl, "https://acme.atlassian.net/wiki");

const created = await api.POST("/v1/connectors", { body: s3Example });
assert.equal(created.response.status, 201);
const connector = s3(created.data?.data);
assert.equal(connector.config.bucket, "my-documents");
const byId = { params: { path: { id: connector.id } } };
assert.deepEqual(s3((await api.GET("/v1/connectors/{id}", byId)).data?.data), connector);

// Typed where it is written: openapi-fetch checks an inline body's fields, but not which member
// of a union of all-optional shapes (the per-type config changes) an inline `config` is.
const change: components["schemas"]["UpdateConnectorRequest"] = { name: "Updated Name", config: { prefix: "/new-prefix/" } };
const updated = await api.PUT("/v1/connectors/{id}", { ...byId, body: change });
const renamed = s3(updated.data?.data);
assert.deepEqual([renamed.name, renamed.config.prefix, renamed.config.bucket], ["Updated Name", "/new-prefix/", "my-documents"]);

async function followToTheEnd(connectorId: string, job: SyncJob): Promise<SyncJob> {
  while (job.status === "queued" || job.status === "running") {
    await advanceClock(1);
    const polled = await api.GET("/v1/connectors/{id}/sync/{jobId}", {
      params: { path: { id: connectorId, jobId: job.jobId } },
    });
    assert.ok(polled.data, "the job's status could not be read");
    assert.ok(polled.data.data.progress.collected >= job.progress.collected);
    job = polled.data.data;
  }
  return job;
}

const started = await api.POST("/v1/connectors/{id}/sync", byId);
assert.equal(started.data?.data.status, "queued");
const job = await followToTheEnd(connector.id, started.data.data);
assert.equal(job.status, "completed");
assert.ok(job.progress.collected === job.progress.indexed && job.progress.indexed > 0);
assert.equal(s3((await api.GET("/v1/connectors/{id}", byId)).data?.data).lastSync, job.completedAt);

const authorization = await api.GET("/v1/connectors/oauth/{type}/authorize", {
  params: {
    path: { type: "google_drive" },
    query: { collection: "col_abc123", name: "Team Drive", redirect_uri: "http://localhost:3000/oauth/callback" },
  },
});
assert.ok(authorization.data);
const { code, state } = await approveConsent(authorization.data.data.authUrl);
assert.equal(state, authorization.data.data.state);
const connected = await api.POST("/v1/connectors/oauth/{type}/callback", {
  params: { path: { type: "google_drive" } },
  body: { code, state },
});
assert.ok(connected.data?.data.type === "google_drive");
assert.deepEqual([connected.data.data.name, connected.data.data.collection], ["Team Drive", "col_abc123"]);

const deleted = await api.DELETE("/v1/connectors/{id}", byId);
assert.equal(deleted.response.status, 204);
const missing = refused((await api.GET("/v1/connectors/{id}", byId)).error, "not_found");
assert.match(missing.error.message, new RegExp(connector.id));

await api.POST("/v1/connectors", { body: s3Example });
refused((await api.POST("/v1/connectors", { body: s3Example })).error, "already_exists");

const invalid: CreateS3 = { ...s3Example, name: "Elsewhere", config: { ...s3Example.config, region: "Mars" } };
const failed = refused((await api.POST("/v1/connectors", { body: invalid })).error, "validation_failed");
assert.deepEqual(failed.error.details?.errors?.map((e) => e.path), ["$.config.region"]);

const stranger = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer not-a-key-of-this-fake" } });
refused((await stranger.GET("/v1/connectors")).error, "unauthorized");

console.log("every flow ran");

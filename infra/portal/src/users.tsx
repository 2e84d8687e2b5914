// User Management: the users table with role assignment, the Invite user dialog, the
// invitations table (resend, delete), the admin's remaining quota, and the roles.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  type CustomerAccess,
  type Invitation,
  isProblem,
  type Language,
  type Member,
  ok,
  type Permission,
  type Problem,
  type Schemas,
} from "./api";
import { ActivityLog } from "./activity";
import { dateTime, type Key, sentence, t } from "./i18n";
import { Dialog, Loading, navigate, Notice, ShowMore } from "./ui";

type Role = Schemas["Role"] & { usage: Schemas["RoleUsage"] };
type Quota = { limit: number; used: number; remaining: number; resetsAt: string };
/** At most this many addresses in one invite (the batch route's limit). */
const BATCH_LIMIT = 50;
const PERMISSIONS: Permission[] = ["orders", "invoices", "documents", "user-management"];

function useRoles(customerId: string) {
  const [roles, setRoles] = useState<Role[] | null>(null);
  const reload = useCallback(async () => {
    const answer = await ok(api.GET("/customers/{customerId}/roles", { params: { path: { customerId } } }));
    setRoles(answer.roles as Role[]);
  }, [customerId]);
  useEffect(() => void reload(), [reload]);
  return { roles, reload };
}

/** User Management's tabs; `focus` is an invitation's id (the renewal email's button leads there). */
export function UserManagement(props: { access: CustomerAccess; tab: string; focus?: string }) {
  const customerId = props.access.customerNumber;
  const base = `#/c/${customerId}/user-management`;
  const [quota, setQuota] = useState<Quota | null>(null);
  const [inviting, setInviting] = useState(false);
  const [version, setVersion] = useState(0);
  const { roles, reload: reloadRoles } = useRoles(customerId);
  const reloadQuota = useCallback(async () => {
    setQuota(await ok(api.GET("/customers/{customerId}/invitation-quota", { params: { path: { customerId } } })));
  }, [customerId]);
  useEffect(() => void reloadQuota(), [reloadQuota, version]);
  const changed = () => {
    setVersion((v) => v + 1);
    void reloadRoles();
  };
  const tabs = props.access.admin ? (["users", "invitations", "roles", "activity"] as const) : (["users", "invitations", "roles"] as const);
  const tab = (tabs as readonly string[]).includes(props.tab) ? props.tab : "users";

  return (
    <section>
      <h1>{t("um.title")}</h1>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setInviting(true)}>
          {t("invite.button")}
        </button>
        {quota && (
          <span class="quota" data-remaining={quota.remaining}>
            {t("um.quota", { remaining: quota.remaining, limit: quota.limit, resetsAt: dateTime(quota.resetsAt) })}
          </span>
        )}
      </div>
      <div class="tabs" role="tablist">
        {tabs.map((name) => (
          <a key={name} role="tab" href={`${base}/${name}`} aria-selected={tab === name ? "true" : "false"}>
            {t(`um.tab.${name}`)}
          </a>
        ))}
      </div>
      {tab === "users" && <UsersTable customerId={customerId} roles={roles} version={version} />}
      {tab === "invitations" && <InvitationsTable customerId={customerId} version={version} onChange={changed} focus={props.focus} />}
      {tab === "roles" && <RolesTable customerId={customerId} roles={roles} onChange={changed} />}
      {tab === "activity" && <ActivityLog customerId={customerId} roles={roles} />}
      {inviting && (
        <InviteDialog
          customerId={customerId}
          roles={roles}
          onSent={changed}
          onClose={() => setInviting(false)}
          onList={() => {
            setInviting(false);
            navigate(`${base}/invitations`);
          }}
        />
      )}
    </section>
  );
}

function RoleChoices(props: { roles: Role[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset class="choices">
      {props.roles.map((role) => (
        <label key={role.id}>
          <input
            type="checkbox"
            checked={props.chosen.includes(role.id)}
            onChange={(event) => {
              const on = (event.currentTarget as HTMLInputElement).checked;
              props.onChange(on ? [...props.chosen, role.id] : props.chosen.filter((id) => id !== role.id));
            }}
          />{" "}
          {role.name}
        </label>
      ))}
    </fieldset>
  );
}

type BatchResult = Schemas["BatchResult"];
type InviteState =
  | { step: "form"; problem?: Problem; pendingId?: string }
  | { step: "sending" }
  | { step: "sent"; email: string; resent?: boolean }
  | { step: "batch"; typed: string[]; results: BatchResult[]; created: number; refused: number };

/** The addresses typed into the dialog: one, or several separated by commas, semicolons or lines. */
function addressesIn(text: string): string[] {
  return text
    .split(/[,;\n\r]+/)
    .map((address) => address.trim())
    .filter((address) => address.length > 0);
}

/** One row of a batch's answer as a sentence. */
function batchSentence(result: BatchResult, typed: string): string {
  const email = result.email ?? typed;
  if (result.duplicateOf !== undefined) return t("batch.duplicate", { email, row: result.duplicateOf + 1 });
  if (result.status === "created") return t("batch.created", { email });
  return t("batch.refused", { email, why: sentence(result.problem as Problem) });
}

function InviteDialog(props: {
  customerId: string;
  roles: Role[] | null;
  onSent: () => void;
  onClose: () => void;
  onList: () => void;
}) {
  const [state, setState] = useState<InviteState>({ step: "form" });
  const [email, setEmail] = useState("");
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [lang, setLang] = useState<"" | Language>("");
  const path = { customerId: props.customerId };

  const send = async (event: Event) => {
    event.preventDefault();
    const addresses = addressesIn(email);
    if (addresses.length === 0) {
      setState({ step: "form", problem: { type: "", title: "", status: 0, detail: "", code: "email-missing" } });
      return;
    }
    if (addresses.length > 1) {
      await sendBatch(addresses);
      return;
    }
    setState({ step: "sending" });
    try {
      await ok(
        api.POST("/customers/{customerId}/invitations", {
          params: { path },
          body: { email: email.trim(), roleIds, ...(lang ? { language: lang } : {}) },
        }),
      );
      setState({ step: "sent", email: email.trim() });
      props.onSent();
    } catch (error) {
      if (!isProblem(error)) throw error;
      setState({ step: "form", problem: error, pendingId: error.invitationId });
    }
  };

  const sendBatch = async (addresses: string[]) => {
    if (addresses.length > BATCH_LIMIT) {
      setState({ step: "form", problem: { type: "", title: "", status: 0, detail: "", code: "batch-too-large" } });
      return;
    }
    setState({ step: "sending" });
    try {
      const answer = await ok(
        api.POST("/customers/{customerId}/invitations/batch", {
          params: { path },
          body: { invitations: addresses.map((address) => ({ email: address })), defaults: { roleIds, ...(lang ? { language: lang } : {}) } },
        }),
      );
      setState({ step: "batch", typed: addresses, results: answer.results, created: answer.created, refused: answer.refused });
      props.onSent();
    } catch (error) {
      if (!isProblem(error)) throw error;
      setState({ step: "form", problem: error });
    }
  };

  const resend = async (invitationId: string) => {
    setState({ step: "sending" });
    try {
      await ok(api.POST("/customers/{customerId}/invitations/{invitationId}/resend", { params: { path: { ...path, invitationId } } }));
      setState({ step: "sent", email: email.trim(), resent: true });
      props.onSent();
    } catch (error) {
      if (isProblem(error)) setState({ step: "form", problem: error });
    }
  };

  if (state.step === "sending") {
    return (
      <Dialog title={t("invite.title")} busy>
        <Loading label={t("invite.sending")} />
      </Dialog>
    );
  }
  if (state.step === "sent" || state.step === "batch") {
    return (
      <Dialog title={t("invite.title")}>
        {state.step === "sent" ? (
          <Notice kind="success">{t(state.resent ? "invite.resent" : "invite.sent", { email: state.email })}</Notice>
        ) : (
          <>
            <Notice kind={state.refused > 0 ? "info" : "success"}>
              {t("batch.summary", { created: state.created, refused: state.refused })}
            </Notice>
            <ul class="results">
              {state.results.map((result, index) => (
                <li key={index} class={result.status} data-row={index}>
                  {batchSentence(result, state.typed[index] ?? "")}
                </li>
              ))}
            </ul>
          </>
        )}
        <div class="actions">
          <button
            type="button"
            class="primary"
            onClick={() => {
              setEmail("");
              setRoleIds([]);
              setState({ step: "form" });
            }}
          >
            {t("invite.another")}
          </button>
          <button type="button" onClick={props.onList}>
            {t("invite.tolist")}
          </button>
          <button type="button" onClick={props.onClose}>
            {t("close")}
          </button>
        </div>
      </Dialog>
    );
  }
  const problem = state.problem;
  return (
    <Dialog title={t("invite.title")}>
      <form onSubmit={send} class="stack" noValidate>
        <label>
          {t("invite.email")}
          <textarea
            name="email"
            rows={2}
            required
            aria-required="true"
            autocomplete="off"
            value={email}
            onInput={(e) => setEmail((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <div>
          <p class="label">{t("invite.roles")}</p>
          {props.roles === null ? (
            <Loading />
          ) : props.roles.length === 0 ? (
            <p class="muted">{t("invite.noroles")}</p>
          ) : (
            <RoleChoices roles={props.roles} chosen={roleIds} onChange={setRoleIds} />
          )}
          {roleIds.length === 0 && <p class="muted">{t("invite.norole.note")}</p>}
        </div>
        <label>
          {t("invite.language")}
          <select value={lang} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as "" | Language)}>
            <option value="">{t("invite.language.default")}</option>
            <option value="en">{t("lang.en")}</option>
            <option value="de">{t("lang.de")}</option>
          </select>
        </label>
        {problem && (
          <Notice kind="error">
            {problem.code === "email-missing"
              ? t("invite.email.missing")
              : problem.code === "batch-too-large"
                ? t("batch.too-many", { limit: BATCH_LIMIT })
                : sentence(problem)}
          </Notice>
        )}
        <div class="actions">
          {state.step === "form" && state.pendingId && (
            <button type="button" onClick={() => resend(state.pendingId as string)}>
              {t("invite.resend")}
            </button>
          )}
          <button type="button" onClick={props.onClose}>
            {t("cancel")}
          </button>
          <button type="submit" class="primary">
            {t("invite.send")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function UsersTable(props: { customerId: string; roles: Role[] | null; version: number }) {
  const [users, setUsers] = useState<Member[] | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [search, setSearch] = useState("");
  const [role, setRole] = useState("");
  const [access, setAccess] = useState<"" | "restricted" | "full">("");
  const [adminOnly, setAdminOnly] = useState(false);
  const [editing, setEditing] = useState<Member | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [listProblem, setListProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const customerId = props.customerId;
  // Only the newest listing shows: answers to a search typed further meanwhile are dropped.
  const latest = useRef(0);
  const load = useCallback(
    async (after?: string) => {
      const asked = ++latest.current;
      const email = search.trim();
      const query = {
        limit: 25,
        ...(email ? { email } : {}),
        ...(role ? { role } : {}),
        ...(access ? { restricted: access === "restricted" ? ("true" as const) : ("false" as const) } : {}),
        ...(adminOnly ? { admin: "true" as const } : {}),
        ...(after ? { cursor: after } : {}),
      };
      try {
        const answer = await ok(api.GET("/customers/{customerId}/users", { params: { path: { customerId }, query } }));
        if (asked !== latest.current) return;
        setListProblem(null);
        setUsers((previous) => (after ? [...(previous ?? []), ...answer.users] : answer.users));
        setTotal(answer.total);
        setCursor(answer.nextCursor ?? null);
      } catch (error) {
        if (asked === latest.current && isProblem(error)) setListProblem(error);
      }
    },
    [customerId, search, role, access, adminOnly],
  );
  const reload = useCallback(() => load(), [load]);
  useEffect(() => void load(), [load, props.version]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (!editing) return;
    try {
      await ok(
        api.PUT("/customers/{customerId}/users/{userId}/roles", {
          params: { path: { customerId, userId: editing.userId } },
          body: { roleIds: chosen },
        }),
      );
      setDone(t("users.assigned", { email: editing.email }));
      setEditing(null);
      await reload();
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    }
  };

  const filters = (
    <div class="filters">
      <label>
        {t("users.search")}
        <input type="search" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        {t("users.filter.role")}
        <select value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{t("users.filter.any")}</option>
          {(props.roles ?? []).map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("users.access")}
        <select value={access} onChange={(e) => setAccess((e.currentTarget as HTMLSelectElement).value as "" | "restricted" | "full")}>
          <option value="">{t("users.filter.any")}</option>
          <option value="restricted">{t("users.filter.restricted")}</option>
          <option value="full">{t("users.full")}</option>
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={adminOnly} onChange={(e) => setAdminOnly((e.currentTarget as HTMLInputElement).checked)} />{" "}
        {t("users.filter.admins")}
      </label>
      {total !== null && (
        <span class="counts" data-total={total}>
          {t("users.total", { total })}
        </span>
      )}
    </div>
  );
  if (!users) return listProblem ? <Notice kind="error">{sentence(listProblem)}</Notice> : <Loading />;
  return (
    <>
      {filters}
      {done && <Notice kind="success">{done}</Notice>}
      {listProblem && <Notice kind="error">{sentence(listProblem)}</Notice>}
      {users.length === 0 && <p class="muted">{t("users.none")}</p>}
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>{t("users.email")}</th>
              <th>{t("users.roles")}</th>
              <th>{t("users.admin")}</th>
              <th>{t("users.access")}</th>
              <th>{t("users.joined")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.userId} data-email={user.email}>
                <td>{user.email}</td>
                <td>{user.roles.map((r) => r.name).join(", ")}</td>
                <td>{user.admin ? t("yes") : ""}</td>
                <td>{user.restricted ? <span class="badge warn">{t("users.restricted")}</span> : t("users.full")}</td>
                <td>{user.joinedAt ? dateTime(user.joinedAt) : ""}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      setProblem(null);
                      setDone(null);
                      setChosen(user.roles.map((r) => r.id));
                      setEditing(user);
                    }}
                  >
                    {t("users.assign")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ShowMore cursor={cursor} onMore={load} />
      {editing && props.roles && (
        <Dialog title={t("users.assign.title", { email: editing.email })}>
          <form onSubmit={save} class="stack">
            <RoleChoices roles={props.roles} chosen={chosen} onChange={setChosen} />
            {problem && <Notice kind="error">{sentence(problem)}</Notice>}
            <div class="actions">
              <button type="button" onClick={() => setEditing(null)}>
                {t("cancel")}
              </button>
              <button type="submit" class="primary">
                {t("save")}
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </>
  );
}

/** The circle-arrow of the feature description (inline: no icon font, no emoji font needed). */
function ResendIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
      <path d="M20 12a8 8 0 1 1-2.34-5.66" />
      <path d="M20 4v5h-5" />
    </svg>
  );
}

/** The rubbish bin. */
function BinIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
      <path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6" />
    </svg>
  );
}

type StatusFilter = "all" | "pending" | "expired" | "accepted" | "declined" | "deleted";
const STATUS_FILTERS: StatusFilter[] = ["all", "pending", "expired", "accepted", "declined", "deleted"];
const OUTCOMES: StatusFilter[] = ["accepted", "declined", "deleted"];
type Counts = { pending: number; expired: number };

/** When an invitation got its outcome, and who gave it (the invited person, or the admin who deleted it). */
function outcomeOf(row: Invitation): { when?: string; by?: string } {
  if (row.status === "accepted") return { when: row.acceptedAt, by: row.email };
  if (row.status === "declined") return { when: row.declinedAt, by: row.email };
  if (row.status === "deleted") return { when: row.deletedAt, by: row.deletedBy?.email };
  return {};
}

/** One invitation, opened by its link (`.../invitations/{id}`): what became of it, and for an open
 * one the table's resend and delete. */
function FocusedInvitation(props: {
  customerId: string;
  id: string;
  version: number;
  onResend: (row: Invitation) => void;
  onDelete: (row: Invitation) => void;
}) {
  const { customerId, id } = props;
  const [row, setRow] = useState<Invitation | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    setProblem(null);
    api
      .GET("/customers/{customerId}/invitations/{invitationId}", { params: { path: { customerId, invitationId: id } } })
      .then((answer) => ok(Promise.resolve(answer)))
      .then(setRow, (error: unknown) => isProblem(error) && setProblem(error));
  }, [customerId, id, props.version]);
  if (problem) return <Notice kind="error">{sentence(problem)}</Notice>;
  if (!row) return <Loading />;
  const open = row.status === "pending" || row.status === "expired";
  const status = t(`inv.status.${row.status}` as Key);
  return (
    <div class="card focus" data-invitation={row.id} data-status={row.status}>
      <h2>{t("inv.focus.title", { email: row.email })}</h2>
      <p>
        <span class={`badge ${row.status}`}>{status}</span> {row.roles.map((r) => r.name).join(", ")}
      </p>
      <p>
        {row.status === "expired"
          ? t("inv.focus.expired", { when: dateTime(row.expiresAt), email: row.email })
          : row.status === "pending"
            ? t("inv.focus.pending", { when: dateTime(row.expiresAt) })
            : t("inv.focus.closed", { status })}
      </p>
      <div class="actions">
        <a href={`#/c/${customerId}/user-management/invitations`}>{t("inv.focus.back")}</a>
        {open && (
          <>
            <button type="button" class="danger" onClick={() => props.onDelete(row)}>
              {t("delete")}
            </button>
            <button type="button" class="primary" onClick={() => props.onResend(row)}>
              {t("inv.focus.resend")}
            </button>
          </>
        )}
      </div>
    </div>
  );
}

function InvitationsTable(props: { customerId: string; version: number; onChange: () => void; focus?: string }) {
  const customerId = props.customerId;
  const [filter, setFilter] = useState<StatusFilter>("all");
  const [search, setSearch] = useState("");
  const [rows, setRows] = useState<Invitation[] | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Invitation | null>(null);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  // Answers of a search typed further meanwhile are dropped: only the newest listing shows.
  const latest = useRef(0);

  const load = useCallback(
    async (after?: string) => {
      const asked = ++latest.current;
      const email = search.trim();
      try {
        const answer = await ok(
          api.GET("/customers/{customerId}/invitations", {
            params: {
              path: { customerId },
              query: { status: filter, limit: 25, ...(email ? { email } : {}), ...(after ? { cursor: after } : {}) },
            },
          }),
        );
        if (asked !== latest.current) return;
        setRows((previous) => (after ? [...(previous ?? []), ...answer.invitations] : answer.invitations));
        if (answer.counts) setCounts(answer.counts);
        setCursor(answer.nextCursor ?? null);
      } catch (error) {
        if (asked === latest.current && isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
      }
    },
    [customerId, filter, search],
  );
  useEffect(() => void load(), [load, props.version]);

  const resend = async (row: Invitation) => {
    setMessage(null);
    try {
      const answer = await ok(
        api.POST("/customers/{customerId}/invitations/{invitationId}/resend", {
          params: { path: { customerId, invitationId: row.id } },
        }),
      );
      setMessage({ kind: "success", text: t("inv.resent", { email: row.email, until: dateTime(answer.expiresAt) }) });
      props.onChange();
    } catch (error) {
      if (isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
    }
  };

  const remove = async () => {
    if (!deleting) return;
    const row = deleting;
    setDeleting(null);
    try {
      await ok(
        api.DELETE("/customers/{customerId}/invitations/{invitationId}", {
          params: { path: { customerId, invitationId: row.id } },
        }),
      );
      setMessage({ kind: "success", text: t("inv.deleted", { email: row.email }) });
      props.onChange();
    } catch (error) {
      if (isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
    }
  };

  const outcomes = OUTCOMES.includes(filter);
  return (
    <>
      {props.focus && (
        <FocusedInvitation customerId={customerId} id={props.focus} version={props.version} onResend={resend} onDelete={setDeleting} />
      )}
      <div class="filters">
        <label class="filter">
          {t("inv.filter")}{" "}
          <select value={filter} onChange={(e) => setFilter((e.currentTarget as HTMLSelectElement).value as StatusFilter)}>
            {STATUS_FILTERS.map((status) => (
              <option key={status} value={status}>
                {t(`inv.filter.${status}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("inv.search")}
          <input type="search" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </label>
        {counts && (
          <span class="counts" data-pending={counts.pending} data-expired={counts.expired}>
            {t("inv.counts", { pending: counts.pending, expired: counts.expired })}
          </span>
        )}
      </div>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {rows === null ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p class="muted">{t("inv.none")}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>{t("inv.email")}</th>
                <th>{t("inv.roles")}</th>
                <th>{t("inv.status")}</th>
                {outcomes ? (
                  <>
                    <th>{t("inv.outcome.when")}</th>
                    <th>{t("inv.outcome.by")}</th>
                  </>
                ) : (
                  <>
                    <th>{t("inv.sent")}</th>
                    <th>{t("inv.valid")}</th>
                  </>
                )}
                <th>{t("inv.by")}</th>
                {!outcomes && <th />}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const outcome = outcomeOf(row);
                const open = row.status === "pending" || row.status === "expired";
                return (
                  <tr key={row.id} data-email={row.email} data-status={row.status}>
                    <td>{row.email}</td>
                    <td>{row.roles.map((r) => r.name).join(", ")}</td>
                    <td>
                      <span class={`badge ${row.status}`}>{t(`inv.status.${row.status}` as Key)}</span>
                    </td>
                    {outcomes ? (
                      <>
                        <td class="outcome-when">{outcome.when ? dateTime(outcome.when) : ""}</td>
                        <td class="outcome-by">{outcome.by ?? ""}</td>
                      </>
                    ) : (
                      <>
                        <td>{dateTime(row.lastSentAt)}</td>
                        <td>{dateTime(row.expiresAt)}</td>
                      </>
                    )}
                    <td>{row.invitedBy.email}</td>
                    {!outcomes && (
                      <td class="icons">
                        {open && (
                          <>
                            <button type="button" class="icon" aria-label={t("inv.resend", { email: row.email })} title={t("inv.resend", { email: row.email })} onClick={() => resend(row)}>
                              <ResendIcon />
                            </button>
                            <button type="button" class="icon" aria-label={t("inv.delete", { email: row.email })} title={t("inv.delete", { email: row.email })} onClick={() => setDeleting(row)}>
                              <BinIcon />
                            </button>
                          </>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ShowMore cursor={cursor} onMore={load} />
      {deleting && (
        <Dialog title={t("inv.delete.title")}>
          <p>{t("inv.delete.body", { email: deleting.email })}</p>
          <div class="actions">
            <button type="button" onClick={() => setDeleting(null)}>
              {t("cancel")}
            </button>
            <button type="button" class="danger" onClick={remove}>
              {t("delete")}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function PermissionChoices(props: { chosen: Permission[]; onChange: (p: Permission[]) => void }) {
  return (
    <fieldset class="choices">
      {PERMISSIONS.map((permission) => (
        <label key={permission}>
          <input
            type="checkbox"
            checked={props.chosen.includes(permission)}
            onChange={(event) => {
              const on = (event.currentTarget as HTMLInputElement).checked;
              props.onChange(on ? [...props.chosen, permission] : props.chosen.filter((p) => p !== permission));
            }}
          />{" "}
          {t(`perm.${permission}` as Key)}
        </label>
      ))}
    </fieldset>
  );
}

function RolesTable(props: { customerId: string; roles: Role[] | null; onChange: () => void }) {
  const customerId = props.customerId;
  const [name, setName] = useState("");
  const [permissions, setPermissions] = useState<Permission[]>([]);
  const [editing, setEditing] = useState<Role | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const attempt = async (action: () => Promise<string>) => {
    setProblem(null);
    setDone(null);
    try {
      setDone(await action());
      props.onChange();
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    }
  };

  const create = (event: Event) => {
    event.preventDefault();
    void attempt(async () => {
      const role = await ok(api.POST("/customers/{customerId}/roles", { params: { path: { customerId } }, body: { name, permissions } }));
      setName("");
      setPermissions([]);
      return t("roles.created", { name: role.name });
    });
  };

  const save = (event: Event) => {
    event.preventDefault();
    const role = editing;
    if (!role) return;
    void attempt(async () => {
      const answer = await ok(
        api.PUT("/customers/{customerId}/roles/{roleId}", {
          params: { path: { customerId, roleId: role.id } },
          body: { name, permissions },
        }),
      );
      setEditing(null);
      return t("roles.edited", { name: answer.role.name, members: answer.affected.members, open: answer.affected.openInvitations });
    });
  };

  const remove = () => {
    const role = deleting;
    if (!role) return;
    void attempt(async () => {
      // Members holding it lose it: the dialog said so, and this confirms it.
      const query = role.usage.members > 0 ? { confirm: "remove-from-members" as const } : {};
      const answer = await ok(
        api.DELETE("/customers/{customerId}/roles/{roleId}", { params: { path: { customerId, roleId: role.id }, query } }),
      );
      setDeleting(null);
      return t("roles.deleted", { name: role.name, members: answer.affected.members, open: answer.affected.openInvitations });
    });
  };

  if (!props.roles) return <Loading />;
  const dialogOpen = editing || deleting;
  return (
    <>
      {done && <Notice kind="success">{done}</Notice>}
      {problem && !dialogOpen && <Notice kind="error">{sentence(problem)}</Notice>}
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>{t("roles.name")}</th>
              <th>{t("roles.permissions")}</th>
              <th>{t("roles.members")}</th>
              <th>{t("roles.open")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.roles.map((role) => (
              <tr key={role.id} data-role={role.name}>
                <td>{role.name}</td>
                <td>{role.permissions.map((p) => t(`perm.${p}` as Key)).join(", ")}</td>
                <td>{role.usage.members}</td>
                <td>{role.usage.openInvitations}</td>
                <td class="icons">
                  <button
                    type="button"
                    onClick={() => {
                      setProblem(null);
                      setName(role.name);
                      setPermissions([...role.permissions]);
                      setEditing(role);
                    }}
                  >
                    {t("roles.edit")}
                  </button>
                  <button
                    type="button"
                    onClick={() => {
                      setProblem(null);
                      setDeleting(role);
                    }}
                  >
                    {t("delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!editing && (
        <form onSubmit={create} class="stack card">
          <h2>{t("roles.create")}</h2>
          <label>
            {t("roles.name")}
            <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <PermissionChoices chosen={permissions} onChange={setPermissions} />
          <button type="submit" class="primary">
            {t("roles.create")}
          </button>
        </form>
      )}
      {editing && (
        <Dialog title={t("roles.edit.title", { name: editing.name })}>
          <form onSubmit={save} class="stack">
            <label>
              {t("roles.name")}
              <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
            </label>
            <PermissionChoices chosen={permissions} onChange={setPermissions} />
            <Notice kind="info">
              {t("roles.edit.note", { members: editing.usage.members, open: editing.usage.openInvitations })}
            </Notice>
            {problem && <Notice kind="error">{sentence(problem)}</Notice>}
            <div class="actions">
              <button type="button" onClick={() => setEditing(null)}>
                {t("cancel")}
              </button>
              <button type="submit" class="primary">
                {t("save")}
              </button>
            </div>
          </form>
        </Dialog>
      )}
      {deleting && (
        <Dialog title={t("roles.delete.title", { name: deleting.name })}>
          <Notice kind="info">{t("roles.delete.note", { open: deleting.usage.openInvitations })}</Notice>
          {deleting.usage.members > 0 && (
            <Notice kind="info">{t("roles.delete.members", { members: deleting.usage.members })}</Notice>
          )}
          {problem && <Notice kind="error">{sentence(problem)}</Notice>}
          <div class="actions">
            <button type="button" onClick={() => setDeleting(null)}>
              {t("cancel")}
            </button>
            <button type="button" class="danger" onClick={remove}>
              {t("delete")}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

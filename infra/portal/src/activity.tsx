// The activity log of one customer (admins only): who did what, when, in which request; filtered
// by kind, address and days, paged, and downloaded as CSV.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, isProblem, ok, type Problem, type Schemas } from "./api";
import { dateTime, type Key, sentence, t } from "./i18n";
import { Loading, Notice, ShowMore } from "./ui";

type Entry = Schemas["ActivityEntry"];
type Kind = Schemas["ActivityKind"];
type State = Schemas["ActivityState"];
type Filters = { kind: Kind | ""; email: string; from: string; to: string };

const KINDS: Kind[] = [
  "invitation-sent",
  "invitation-resent",
  "invitation-deleted",
  "invitation-accepted",
  "invitation-declined",
  "member-left",
  "role-created",
  "role-edited",
  "role-deleted",
  "roles-assigned",
];
const NO_FILTERS: Filters = { kind: "", email: "", from: "", to: "" };
/** Rows a CSV page holds at most (the route's limit). */
const CSV_PAGE = 1000;

/** A day of an `<input type="date">` (`2026-12-01`) as the instant its local midnight begins. */
function midnight(day: string, plusDays = 0): string {
  const [year = 0, month = 1, date = 1] = day.split("-").map(Number);
  return new Date(year, month - 1, date + plusDays).toISOString();
}

/** The query of `filters`: `to` is the day after the last day chosen, as the route's bound is exclusive. */
function queryOf(filters: Filters) {
  const email = filters.email.trim();
  return {
    ...(filters.kind ? { kind: filters.kind } : {}),
    ...(email ? { email } : {}),
    ...(filters.from ? { from: midnight(filters.from) } : {}),
    ...(filters.to ? { to: midnight(filters.to, 1) } : {}),
  };
}

/** What an entry says happened, as a sentence. */
function what(entry: Entry): string {
  return t(`act.kind.${entry.kind}` as Key, {
    actor: entry.actor.email,
    subject: entry.subject.email ?? "",
    role: entry.subject.roleName ?? entry.before?.name ?? entry.after?.name ?? "",
  });
}

/** A role's name and areas, or the roles held, named from the customer's roles. */
function stateText(state: State | undefined, roleNames: Map<string, string>): string {
  if (!state) return "";
  if (state.roleIds) {
    if (state.roleIds.length === 0) return t("act.no-roles");
    return state.roleIds.map((id) => roleNames.get(id) ?? t("act.role-gone")).join(", ");
  }
  const areas = (state.permissions ?? []).map((p) => t(`perm.${p}` as Key)).join(", ");
  return `${state.name ?? ""}${areas ? ` (${areas})` : ""}`;
}

function Details(props: { entry: Entry; roleNames: Map<string, string> }) {
  const { before, after } = props.entry;
  const was = stateText(before, props.roleNames);
  const now = stateText(after, props.roleNames);
  if (before && after) return <span>{t("act.change", { before: was, after: now })}</span>;
  if (after) return <span>{now}</span>;
  if (before) return <span>{t("act.was", { before: was })}</span>;
  return null;
}

export function ActivityLog(props: { customerId: string; roles: { id: string; name: string }[] | null }) {
  const customerId = props.customerId;
  const [typed, setTyped] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [downloading, setDownloading] = useState(false);
  const latest = useRef(0);
  const roleNames = new Map((props.roles ?? []).map((role) => [role.id, role.name]));

  const load = useCallback(
    async (after?: string) => {
      const asked = ++latest.current;
      setProblem(null);
      try {
        const answer = await ok(
          api.GET("/customers/{customerId}/activity", {
            params: { path: { customerId }, query: { ...queryOf(filters), limit: 25, ...(after ? { cursor: after } : {}) } },
          }),
        );
        // The route answers JSON unless CSV is asked for (its schema has both).
        if (asked !== latest.current || typeof answer === "string") return;
        setEntries((previous) => (after ? [...(previous ?? []), ...answer.entries] : answer.entries));
        setCursor(answer.nextCursor ?? null);
      } catch (error) {
        if (asked !== latest.current || !isProblem(error)) return;
        setProblem(error);
        if (!after) setEntries([]);
      }
    },
    [customerId, filters],
  );
  useEffect(() => void load(), [load]);

  /** Every page of the CSV with the filters shown, as one file. */
  const download = async () => {
    setDownloading(true);
    setProblem(null);
    try {
      const parts: string[] = [];
      let next: string | undefined;
      do {
        const answer = await api.GET("/customers/{customerId}/activity", {
          params: { path: { customerId }, query: { ...queryOf(filters), format: "csv", limit: CSV_PAGE, ...(next ? { cursor: next } : {}) } },
          parseAs: "text",
        });
        if (!answer.response.ok) {
          await ok(Promise.resolve(answer));
          return;
        }
        const text = answer.data ?? "";
        // Every page starts with the header row; the file keeps the first.
        parts.push(parts.length === 0 ? text : text.slice(text.indexOf("\n") + 1));
        next = answer.response.headers.get("next-cursor") ?? undefined;
      } while (next);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
      link.download = `activity-${customerId}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    } finally {
      setDownloading(false);
    }
  };

  const field = (name: keyof Filters) => (event: Event) =>
    setTyped({ ...typed, [name]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });

  return (
    <section aria-label={t("um.tab.activity")}>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ ...typed });
        }}
      >
        <label>
          {t("act.filter.kind")}
          <select value={typed.kind} onChange={field("kind")}>
            <option value="">{t("act.filter.all")}</option>
            {KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {t(`act.kind-name.${kind}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("act.filter.email")}
          <input type="search" value={typed.email} onInput={field("email")} />
        </label>
        <label>
          {t("act.filter.from")}
          <input type="date" value={typed.from} onInput={field("from")} />
        </label>
        <label>
          {t("act.filter.to")}
          <input type="date" value={typed.to} onInput={field("to")} />
        </label>
        <button type="submit">{t("act.filter.apply")}</button>
        <button type="button" onClick={download} disabled={downloading}>
          {t("act.download")}
        </button>
      </form>
      <p class="muted">{t("act.intro")}</p>
      {problem && <Notice kind="error">{sentence(problem)}</Notice>}
      {entries === null ? (
        <Loading />
      ) : entries.length === 0 ? (
        !problem && <p class="muted">{t("act.none")}</p>
      ) : (
        <div class="scroll">
          <table class="activity">
            <thead>
              <tr>
                <th>{t("act.when")}</th>
                <th>{t("act.what")}</th>
                <th>{t("act.details")}</th>
                <th>{t("act.request")}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-kind={entry.kind} data-subject={entry.subject.email ?? entry.subject.roleName ?? ""}>
                  <td>{dateTime(entry.at)}</td>
                  <td>{what(entry)}</td>
                  <td>
                    <Details entry={entry} roleNames={roleNames} />
                  </td>
                  <td class="muted">
                    <code>{entry.requestId ?? ""}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ShowMore cursor={cursor} onMore={load} />
    </section>
  );
}

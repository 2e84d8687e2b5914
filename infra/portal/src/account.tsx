// The account's own screens beside any customer: the invitations waiting for its email (accept,
// decline after a confirmation), deleting the account (confirmed by its email and password),
// and whether an admin is emailed when an invitation it sent is accepted.
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, isProblem, ok, type Problem, type Schemas } from "./api";
import { dateTime, sentence, t } from "./i18n";
import type { Session } from "./main";
import { Dialog, Loading, navigate, Notice } from "./ui";

type Waiting = Schemas["WaitingInvitation"];

/** The invitations addressed to the account's email; `showEmpty` says so when there are none. */
export function WaitingInvitations(props: { session: Session; showEmpty?: boolean }) {
  const { session } = props;
  const [invitations, setInvitations] = useState<Waiting[] | null>(null);
  const [declining, setDeclining] = useState<Waiting | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const waiting = session.me.invitationsWaiting;

  // Nothing to ask for when /me counts none, unless this place lists them anyway.
  const wanted = waiting > 0 || !!props.showEmpty;
  const reload = useCallback(async () => {
    if (!wanted) {
      setInvitations([]);
      return;
    }
    try {
      setInvitations((await ok(api.GET("/me/invitations"))).invitations);
    } catch (error) {
      if (isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
    }
  }, [wanted]);
  useEffect(() => void reload(), [reload, waiting]);

  const accept = async (invitation: Waiting) => {
    setBusy(true);
    setMessage(null);
    try {
      const answer = await ok(
        api.POST("/me/invitations/{customerId}/{invitationId}/accept", {
          params: { path: { customerId: invitation.customerNumber, invitationId: invitation.invitationId } },
        }),
      );
      await session.refresh();
      navigate(`#/c/${answer.customer.customerNumber}/home`);
    } catch (error) {
      if (isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
      await reload();
    } finally {
      setBusy(false);
    }
  };

  const decline = async () => {
    const invitation = declining;
    if (!invitation) return;
    setBusy(true);
    setMessage(null);
    try {
      await ok(
        api.POST("/me/invitations/{customerId}/{invitationId}/decline", {
          params: { path: { customerId: invitation.customerNumber, invitationId: invitation.invitationId } },
        }),
      );
      setMessage({ kind: "success", text: t("mine.declined", names(invitation)) });
    } catch (error) {
      if (isProblem(error)) setMessage({ kind: "error", text: sentence(error) });
    } finally {
      setDeclining(null);
      setBusy(false);
      await reload();
      await session.refresh();
    }
  };

  if (invitations === null) {
    if (message) return <Notice kind={message.kind}>{message.text}</Notice>;
    return props.showEmpty ? <Loading /> : null;
  }
  if (invitations.length === 0 && !props.showEmpty && !message) return null;
  return (
    <section class="waiting" aria-labelledby="waiting-title">
      <h2 id="waiting-title">{t("mine.title")}</h2>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {invitations.length === 0 ? (
        <p class="muted">{t("mine.none")}</p>
      ) : (
        <ul class="cards">
          {invitations.map((invitation) => (
            <li key={invitation.invitationId} class="card" data-invitation={invitation.customerNumber}>
              <p>{t("mine.from", { ...names(invitation), inviter: invitation.invitedBy.email })}</p>
              <p>
                {invitation.roles.length > 0
                  ? t("link.roles", { roles: invitation.roles.map((r) => r.name).join(", ") })
                  : t("link.noroles")}
              </p>
              <p class="muted">{t("mine.until", { until: dateTime(invitation.expiresAt) })}</p>
              <div class="actions">
                <button type="button" onClick={() => setDeclining(invitation)} disabled={busy}>
                  {t("mine.decline")}
                </button>
                <button type="button" class="primary" onClick={() => accept(invitation)} disabled={busy}>
                  {t("mine.accept")}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {declining && (
        <Dialog title={t("mine.decline.title")} busy={busy}>
          <p>{t("mine.decline.body", names(declining))}</p>
          <div class="actions">
            <button type="button" onClick={() => setDeclining(null)}>
              {t("mine.decline.keep")}
            </button>
            <button type="button" class="danger" onClick={decline} disabled={busy}>
              {t("mine.decline.confirm")}
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

function names(invitation: Waiting) {
  return { company: invitation.companyName, number: invitation.customerNumber };
}

/** Deleting the account for good. With customers left, the same request leaves them all. */
export function DeleteAccount(props: { session: Session }) {
  const { session } = props;
  const { me } = session;
  const leaving = me.customers.map((c) => c.customerNumber);
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await ok(
        api.DELETE("/me", {
          body: { confirmEmail: email.trim(), password, ...(leaving.length > 0 ? { leaveCustomers: true } : {}) },
        }),
      );
      session.ended("#/account-deleted");
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="delete-account" aria-labelledby="delete-account-title">
      <h2 id="delete-account-title">{t("account.delete.title")}</h2>
      <p>
        {leaving.length > 0
          ? t("account.delete.intro.members", { customers: leaving.join(", ") })
          : t("account.delete.intro")}
      </p>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setProblem(null);
          setEmail("");
          setPassword("");
          setOpen(true);
        }}
      >
        {t("account.delete.button")}
      </button>
      {open && (
        <Dialog title={t("account.delete.dialog")} busy={busy}>
          <form onSubmit={submit} class="stack">
            <p>{t("account.delete.body", { email: me.user.email })}</p>
            <label>
              {t("account.delete.email")}
              <input value={email} onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} autocomplete="off" required />
            </label>
            <label>
              {t("account.delete.password")}
              <input
                type="password"
                value={password}
                onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)}
                autocomplete="current-password"
                required
              />
            </label>
            {problem && <Notice kind="error">{deletionRefusal(problem)}</Notice>}
            <div class="actions">
              <button type="button" onClick={() => setOpen(false)}>
                {t("account.delete.keep")}
              </button>
              <button type="submit" class="danger" disabled={busy}>
                {t("account.delete.confirm")}
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </section>
  );
}

/** The deletion's own refusals: its confirmation is the email, and the last-admin refusal names customers. */
function deletionRefusal(problem: Problem): string {
  if (problem.code === "confirmation-mismatch") return t("account.delete.mismatch");
  if (problem.code === "last-admin" && problem.customerNumbers?.length) {
    return t("account.delete.last-admin", { customers: problem.customerNumbers.join(", ") });
  }
  if (problem.code === "customers-remain") return t("account.delete.customers-remain");
  return sentence(problem);
}

/** For admins: whether an accepted invitation they sent is emailed to them. */
export function NotifyOnAccept(props: { session: Session }) {
  const { session } = props;
  const [saved, setSaved] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const on = session.me.user.notifyOnAccept;
  return (
    <>
      <h2>{t("settings.notify.title")}</h2>
      <label class="check">
        <input
          type="checkbox"
          checked={on}
          onChange={async (event) => {
            const wanted = (event.currentTarget as HTMLInputElement).checked;
            setSaved(false);
            setProblem(null);
            try {
              await ok(api.PUT("/me/settings", { body: { notifyOnAccept: wanted } }));
              await session.refresh();
              setSaved(true);
            } catch (error) {
              if (isProblem(error)) setProblem(error);
            }
          }}
        />{" "}
        {t("settings.notify.label")}
      </label>
      {saved && <Notice kind="success">{t("settings.saved")}</Notice>}
      {problem && <Notice kind="error">{sentence(problem)}</Notice>}
    </>
  );
}

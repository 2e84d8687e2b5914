// The page an invitation email links to: who invites, for which customer, with which roles, until
// when; then a new account, a log-in of the existing one, or the session already open.
import { useEffect, useState } from "preact/hooks";
import { api, isProblem, type Language, type Me, ok, type Preview, type Problem } from "./api";
import { dateTime, language, sentence, t } from "./i18n";
import { LanguageSwitch, Loading, Notice } from "./ui";

export function InvitationPage(props: {
  token: string;
  me: Me | null;
  onSignedIn: (sessionToken: string, target?: string) => Promise<void>;
  onLogOut: (stay?: boolean) => Promise<void>;
}) {
  const token = props.token;
  const [preview, setPreview] = useState<Preview | null>(null);
  const [gone, setGone] = useState<Problem | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [renewal, setRenewal] = useState<"sent" | Problem | null>(null);
  const [, setRenders] = useState(0);

  useEffect(() => {
    setPreview(null);
    setGone(null);
    setRenewal(null);
    ok(api.GET("/invitations/{token}", { params: { path: { token } } }))
      .then(setPreview)
      .catch((error) => isProblem(error) && setGone(error));
  }, [token]);

  // With a session open (of the invited account: the page offers nothing else), it goes along.
  // `account` repeats the preview's answer: the backend then reads in the order that case needs.
  const accept = async (body: { password?: string; language?: Language; account?: "new" | "existing" }) => {
    setBusy(true);
    setProblem(null);
    try {
      const answer = await ok(
        api.POST("/invitations/{token}/accept", {
          params: { path: { token } },
          body,
        }),
      );
      await props.onSignedIn(answer.sessionToken, `#/c/${answer.customer.customerNumber}/home`);
    } catch (error) {
      if (isProblem(error)) setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  // An expired link: the admin who sent it is asked to send it again (once a day).
  const renew = async () => {
    setBusy(true);
    try {
      await ok(api.POST("/invitations/{token}/renewal-request", { params: { path: { token } } }));
      setRenewal("sent");
    } catch (error) {
      if (isProblem(error)) setRenewal(error);
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const password = String(form.get("password") ?? "");
    void accept(
      preview?.accountExists
        ? { password, account: "existing" }
        : { password, language: language.value, account: "new" },
    );
  };

  const header = (
    <header class="topbar">
      <span class="brand">{t("app.name")}</span>
      <LanguageSwitch onChange={() => setRenders((n) => n + 1)} />
    </header>
  );
  if (gone) {
    return (
      <main class="narrow" data-screen="invitation-gone">
        {header}
        <h1>{t("link.gone.title")}</h1>
        <Notice kind="error">{sentence(gone)}</Notice>
        {gone.code === "invitation-expired" &&
          (renewal === "sent" ? (
            <Notice kind="info">{t("link.renew.sent")}</Notice>
          ) : (
            <>
              {renewal && <Notice kind="error">{sentence(renewal)}</Notice>}
              <p>
                <button type="button" disabled={busy} onClick={() => void renew()}>
                  {t("link.renew")}
                </button>
              </p>
            </>
          ))}
        <p>
          <a href="#/login">{t("link.tologin")}</a>
        </p>
      </main>
    );
  }
  if (!preview) return <Loading />;

  const names = { company: preview.companyName, number: preview.customerNumber, inviter: preview.invitedBy.email };
  const signedInAs = props.me?.user.email;
  return (
    <main class="narrow" data-screen="invitation">
      {header}
      <h1>{t("link.title")}</h1>
      <p>{t("link.intro", names)}</p>
      <p>{t("link.for", { email: preview.email })}</p>
      <p>
        {preview.roles.length > 0
          ? t("link.roles", { roles: preview.roles.map((r) => r.name).join(", ") })
          : t("link.noroles")}
      </p>
      <p>{t("link.until", { until: dateTime(preview.expiresAt) })}</p>
      {signedInAs === preview.email ? (
        <div class="stack card">
          <p>{t("link.session.same", { email: signedInAs })}</p>
          {problem && <Notice kind="error">{sentence(problem)}</Notice>}
          <button type="button" class="primary" disabled={busy} onClick={() => accept({})}>
            {t("link.session.accept")}
          </button>
        </div>
      ) : signedInAs ? (
        <div class="stack card">
          <Notice kind="info">{t("link.session.other", { current: signedInAs, email: preview.email })}</Notice>
          <button type="button" class="primary" onClick={() => props.onLogOut(true)}>
            {t("link.session.switch", { email: preview.email })}
          </button>
        </div>
      ) : (
        <form class="stack card" onSubmit={submit}>
          <h2>{preview.accountExists ? t("link.existing.title") : t("link.new.title")}</h2>
          {preview.accountExists && <p>{t("link.existing.intro", { email: preview.email })}</p>}
          <input type="email" name="email" value={preview.email} autocomplete="username" readOnly hidden />
          <label>
            {preview.accountExists ? t("login.password") : t("link.new.password")}
            <input
              name="password"
              type="password"
              required
              autocomplete={preview.accountExists ? "current-password" : "new-password"}
            />
          </label>
          {!preview.accountExists && <LanguageSwitch onChange={() => setRenders((n) => n + 1)} />}
          {problem && <Notice kind="error">{sentence(problem)}</Notice>}
          <button type="submit" class="primary" disabled={busy}>
            {preview.accountExists ? t("link.existing.submit") : t("link.new.submit")}
          </button>
        </form>
      )}
    </main>
  );
}

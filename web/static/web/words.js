// Words for people, not developers: policies, parameter labels and values, who ran a run.

const POLICY_WORDS = {
  authenticated: "Everyone signed in",
  staff: "Staff only",
  admin: "Admins only",
  investor: "Owners and investors",
  owner: "Owners only",
};
const LEVEL_NAMES = {
  owner: "Owner", investor: "Investor", admin: "Admin", write: "Read/Write", read_only: "Read Only",
};

/** Who may run a script: its policy ("staff") or list of level keys (["owner", "admin"]). */
export function policyInWords(policy) {
  if (Array.isArray(policy)) return policy.map((key) => LEVEL_NAMES[key] || key).join(", ");
  return POLICY_WORDS[policy] || policy;
}

/** `discount_code` -> "Discount code", as the catalog labels an undocumented parameter. */
export function readable(name) {
  const words = name.replace(/^_+|_+$/g, "").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A script's title when the user may see the script, else its slug made readable. */
export function scriptName(slug, title) {
  return title || readable(slug.replaceAll("-", "_"));
}

/** A parameter's label: its schema's title, else its name made readable. */
export function labelOf(name, schema) {
  return (schema && schema.title) || readable(name);
}

/** A parameter's value as a person reads it: Yes/No, lists with commas. */
export function valueInWords(value) {
  if (value === true) return "Yes";
  if (value === false) return "No";
  if (value === null || value === undefined || value === "") return "(empty)";
  if (Array.isArray(value)) return value.length ? value.map(valueInWords).join(", ") : "(none)";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Which scripts read a secret, as a sentence's subject: "Scripts hello, report" or a "no". */
export function declaredByInWords(slugs) {
  if (!slugs.length) return "No published script";
  return `${slugs.length === 1 ? "The script" : "The scripts"} ${slugs.join(", ")}`;
}

/** A time as the reader's own clock shows it. */
export function whenInWords(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** A run's progress as a label: "Progress: 40%", or "Progress" while the script gave no number. */
export function progressInWords(fraction) {
  return fraction === null || fraction === undefined
    ? "Progress" : `Progress: ${Math.round(fraction * 100)}%`;
}

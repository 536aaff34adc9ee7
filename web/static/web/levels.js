// The five levels, as the API numbers and names them (users.roles.Level).
import { element } from "./layout.js";

export const LEVELS = [
  [0, "Owner"], [1, "Investor"], [2, "Admin"], [3, "Read/Write"], [4, "Read Only"],
];

export function levelName(value) {
  return (LEVELS.find(([level]) => level === value) || [value, String(value)])[1];
}

/** The options of a level <select>, `selected` chosen. */
export function levelOptions(selected) {
  return LEVELS.map(([value, name]) =>
    element("option", { value, selected: value === selected }, name));
}

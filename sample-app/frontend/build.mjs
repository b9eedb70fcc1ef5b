// Stands in for the front end's build: copies src/ into dist/.
import { cpSync } from "node:fs";

cpSync("src", "dist", { recursive: true });
console.log("sample app: front end built into frontend/dist/");

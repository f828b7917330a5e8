// One definition, the runtime's (product code must not import test code, so it lives there).
export { freePort } from "../../runtime/src/freePort.ts"

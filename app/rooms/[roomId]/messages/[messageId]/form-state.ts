/**
 * What the message page's actions hand back to their forms (useActionState). Success
 * redirects to the conversation, so only failures come back. With JavaScript off, Next
 * renders the page with this state after the POST.
 */
export type ManageMessageState = { status: "idle" } | { status: "error"; message: string; value?: string };

export const initialManageMessageState: ManageMessageState = { status: "idle" };

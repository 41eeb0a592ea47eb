// The groups part of the WhatsApp boundary's types (re-exported by types.ts).

/** Someone asking to join a group that approves joins. */
export interface GroupJoinRequest {
  jid: string;
  phone?: string;
  /** epoch ms */
  requestedAt?: number;
}

/** A group as WhatsApp describes it (bounded by the connector). */
export interface GroupInfo {
  jid: string;
  subject: string;
  description?: string;
  /** The creator's JID (LID or PN, as WhatsApp gave it). */
  owner?: string;
  /** epoch ms */
  createdAt?: number;
  size: number;
  announce: boolean;
  locked: boolean;
  joinApproval: boolean;
  /** Disappearing messages, seconds; absent when off. */
  ephemeral?: number;
  participants: GroupMember[];
  /** True when WhatsApp listed more members than the connector keeps (see MAX_GROUP_MEMBERS). */
  truncated?: boolean;
}

export interface GroupMember {
  /** As WhatsApp addresses the member: a LID or a phone JID. */
  jid: string;
  /** The member's phone JID, when WhatsApp told it. */
  phone?: string;
  role: 'member' | 'admin' | 'superadmin';
}

/** One participant's outcome in a create or participants update: WhatsApp's per-participant status code (200 = done). */
export interface GroupParticipantResult {
  jid: string;
  status: number;
  /** A 403 (privacy) on add: the code of the invite WhatsApp lets the admin send instead. */
  inviteCode?: string;
}

export interface CreatedGroup {
  group: GroupInfo;
  /** The participants WhatsApp did not add, with their status. */
  failed: GroupParticipantResult[];
}

/** One change of update_group, as WhatsApp takes it (one IQ each). */
export type GroupChange =
  | { field: 'subject'; value: string }
  | { field: 'description'; value: string }
  | { field: 'announce' | 'locked'; value: boolean }
  | { field: 'ephemeral'; value: number }
  /** A JPEG or PNG (resized by the connector; INVALID_MEDIA when it cannot be decoded), or undefined: removed. */
  | { field: 'picture'; value: Buffer | undefined };

/** A group member as a notification names it: its LID and/or phone-number JID, and its role when told. */
export interface NotifiedMember {
  lid?: string;
  pn?: string;
  admin?: 'admin' | 'superadmin' | null;
}

/** What a group notification changed in the group's settings (only what it changed is set). */
export interface GroupChanges {
  subject?: string;
  /** null: the description was cleared. */
  description?: string | null;
  /** Only admins may send. */
  announce?: boolean;
  /** Only admins may edit the group's info. */
  locked?: boolean;
  /** Disappearing messages, seconds (0: off). */
  ephemeralSeconds?: number;
  inviteCode?: string;
  memberAddMode?: 'all_member_add' | 'admin_add';
  /** New members need an admin's approval. */
  joinApproval?: boolean;
}

/**
 * A change to a group the account is in, from one `w:gp2` notification (`id`: its id, stable across a
 * redelivery). Baileys acks the notification itself once it processed it (no receipt to hold).
 */
export type GroupEvent = {
  id: string;
  group: string;
  /** Who did it, when WhatsApp said. */
  actor?: NotifiedMember;
  /** When WhatsApp says it happened, epoch ms. */
  at: number;
} & (
  | { kind: 'joined'; how: 'created' | 'added'; subject?: string; participantCount?: number; participants?: NotifiedMember[] }
  | { kind: 'updated'; changes: GroupChanges }
  | { kind: 'participants_changed'; action: 'added' | 'removed' | 'left' | 'promoted' | 'demoted'; participants: NotifiedMember[] }
  | { kind: 'membership_request'; action: 'created' | 'revoked' | 'rejected'; participant: NotifiedMember; method?: string }
);

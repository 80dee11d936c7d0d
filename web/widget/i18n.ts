// Widget strings, English and Simplified Chinese. `{name}` is replaced by pick()'s caller.
const en = {
  title: 'Chat with us',
  open: 'Open chat',
  close: 'Close chat',
  online: 'Online · we usually reply in minutes',
  offline: 'Offline',
  away: "We're away right now. Leave a message and we'll get back to you.",
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  unavailable: 'Chat is not available right now.',
  retry: 'Retry',
  placeholder: 'Type a message…',
  send: 'Send',
  attach: 'Attach a file',
  typing: '{name} is typing…',
  agent: 'Agent',
  sending: 'Sending…',
  uploading: 'Uploading…',
  failed: 'Not sent.',
  read: 'Read',
  earlier: 'Earlier messages',
  prechat: 'Please tell us a little about yourself to start the chat.',
  start: 'Start chat',
  required: 'This field is required',
  badEmail: 'Enter a valid e-mail address',
  badPhone: 'Enter a valid phone number',
  leave: 'Leave your contact details',
  name: 'Name',
  email: 'E-mail',
  phone: 'Phone',
  save: 'Save',
  saved: "Thanks! We'll get back to you.",
  tooLarge: 'That file is too large.',
  badType: 'That file type is not supported.',
  uploadFailed: 'Upload failed.',
  // Queue: {p} is the position (1 = next), {a} how many are ahead, {m} minutes.
  next: 'You are next in line',
  place: 'You are number {p} in line',
  wait: 'about {m} min',
};
export type Strings = typeof en;

const zh: Strings = {
  title: '在线客服',
  open: '打开聊天',
  close: '关闭聊天',
  online: '在线 · 通常几分钟内回复',
  offline: '离线',
  away: '我们暂时不在线，请留言，我们会尽快回复您。',
  connecting: '正在连接…',
  reconnecting: '正在重新连接…',
  unavailable: '客服暂时不可用。',
  retry: '重试',
  placeholder: '输入消息…',
  send: '发送',
  attach: '发送文件',
  typing: '{name} 正在输入…',
  agent: '客服',
  sending: '发送中…',
  uploading: '上传中…',
  failed: '发送失败。',
  read: '已读',
  earlier: '更早的消息',
  prechat: '开始对话前，请先填写以下信息。',
  start: '开始对话',
  required: '此项为必填',
  badEmail: '请输入有效的邮箱地址',
  badPhone: '请输入有效的电话号码',
  leave: '留下联系方式',
  name: '姓名',
  email: '邮箱',
  phone: '电话',
  save: '提交',
  saved: '谢谢！我们会尽快联系您。',
  tooLarge: '文件太大。',
  badType: '不支持该文件类型。',
  uploadFailed: '上传失败。',
  next: '马上就轮到您了',
  place: '您前面还有 {a} 位',
  wait: '预计等待约 {m} 分钟',
};

/** The locale to use: data-locale when given, else the browser's language (zh* → zh-CN). */
export function pickLocale(attr: string | null | undefined): 'zh-CN' | 'en' {
  const l = (attr || navigator.language || 'en').toLowerCase();
  return l.startsWith('zh') ? 'zh-CN' : 'en';
}

export function strings(locale: 'zh-CN' | 'en'): Strings {
  return locale === 'zh-CN' ? zh : en;
}
